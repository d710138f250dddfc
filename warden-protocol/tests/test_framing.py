"""The frame decoder: chunking, malformed input, limits, linear time."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warden.protocol import FrameDecoder, ProtocolError, encode_frame

PAYLOADS = [b"", b"a", b"\r\n", b"x" * 300, bytes(range(256))]
STREAM = b"".join(encode_frame(p) for p in PAYLOADS)


@pytest.mark.parametrize("size", range(1, 10))
def test_any_chunk_size_yields_the_same_payloads(size: int) -> None:
    decoder = FrameDecoder()
    out: list[bytes] = []
    for i in range(0, len(STREAM), size):
        decoder.feed(STREAM[i : i + size])
        out.extend(decoder)
    assert out == PAYLOADS
    assert decoder.buffered == 0


def test_many_frames_in_one_chunk() -> None:
    decoder = FrameDecoder()
    decoder.feed(STREAM * 3)
    assert list(decoder) == PAYLOADS * 3


@given(st.lists(st.binary(max_size=64), max_size=8), st.data())
def test_random_chunking_yields_exactly_the_payloads(
    payloads: list[bytes], data: st.DataObject
) -> None:
    stream = b"".join(encode_frame(p) for p in payloads)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    decoder = FrameDecoder()
    out: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        decoder.feed(stream[start:end])
        out.extend(decoder)
    assert out == payloads


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_garbage_never_yields_a_wrong_payload(garbage: bytes) -> None:
    decoder = FrameDecoder(max_frame_size=1 << 16)
    decoder.feed(garbage)
    try:
        for payload in decoder:
            # Whatever came out must be exactly what a frame in the input held.
            assert encode_frame(payload) in garbage
    except ProtocolError:
        with pytest.raises(ProtocolError):
            next(decoder)  # stays broken


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"abc\r\n", "non-negative decimal"),
        (b"-1\r\n", "non-negative decimal"),
        (b"+1\r\n", "non-negative decimal"),
        (b" 1\r\n", "non-negative decimal"),
        (b"0x10\r\n", "non-negative decimal"),
        (b"\r\n", "non-negative decimal"),
        (b"3\r\nabcXY", "not followed by CRLF"),
        (b"1" * 40, "not a decimal number followed by CRLF"),
        (b"2000\r\n", "exceeds the maximum of 1024"),
    ],
)
def test_malformed_input_raises_a_clear_error(data: bytes, words: str) -> None:
    decoder = FrameDecoder(max_frame_size=1024)
    decoder.feed(data)
    with pytest.raises(ProtocolError, match=words):
        list(decoder)
    decoder.feed(encode_frame(b"ok"))
    with pytest.raises(ProtocolError):
        list(decoder)


def test_good_frames_before_a_bad_one_are_delivered() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(b"one") + b"zz\r\n")
    assert next(decoder) == b"one"
    with pytest.raises(ProtocolError):
        next(decoder)


def test_incomplete_frame_waits() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"5\r\nabc")
    assert list(decoder) == []
    decoder.feed(b"de\r")
    assert list(decoder) == []
    decoder.feed(b"\n")
    assert list(decoder) == [b"abcde"]


def test_ten_mebibyte_frame_in_64k_chunks() -> None:
    payload = bytes(range(256)) * (10 * 4096)
    wire = encode_frame(payload)
    decoder = FrameDecoder()
    got: list[bytes] = []
    for i in range(0, len(wire), 65536):
        decoder.feed(wire[i : i + 65536])
        got.extend(decoder)
    assert got == [payload]


def test_a_large_frame_alone_in_the_buffer_is_handed_over_uncopied() -> None:
    big, small = bytes(range(256)) * 1024, b"after"
    decoder = FrameDecoder()
    wire = encode_frame(big)
    for i in range(0, len(wire), 65536):  # as a client receives it
        decoder.feed(wire[i : i + 65536])
    payload = decoder.next_payload()
    assert isinstance(payload, memoryview) and payload.readonly and payload == big
    assert decoder.buffered == 0
    # The decoder goes on with a buffer of its own; the view stays intact.
    decoder.feed(encode_frame(small) + encode_frame(big)[:10])
    assert decoder.next_payload() == small and decoder.next_payload() is None
    assert payload == big
    # Followed by more bytes, a large payload is a copy, the rest stays buffered.
    decoder = FrameDecoder()
    decoder.feed(encode_frame(big) + encode_frame(small))
    first = decoder.next_payload()
    assert isinstance(first, bytes) and first == big
    assert decoder.next_payload() == small
