"""Envelope, type maps and message validation."""

from __future__ import annotations

from typing import Any

import pytest

import warden.protocol as wp

ALL_BYTES = bytes(range(256))
INVALID_UTF8 = b"\xff\xfe\xc3\x28 ok"


@pytest.mark.parametrize("cls", sorted(wp.REQUEST_TYPES.values(), key=lambda c: c.__name__))
def test_every_request_class_round_trips(cls: type) -> None:
    message = cls()
    for field in message.DESCRIPTOR.fields:
        if field.is_required:
            sample = {field.TYPE_STRING: "h", field.TYPE_BYTES: b"h"}.get(field.type, 7)
            setattr(message, field.name, sample)
    assert wp.unwrap_request(wp.wrap(message)) == message


@pytest.mark.parametrize("cls", [wp.LinkResponse, wp.RunResponse])
def test_binary_job_output_round_trips(cls: type) -> None:
    message = cls(exit_status=0, stdout=ALL_BYTES, stderr=INVALID_UTF8)
    decoded = wp.unwrap_response(wp.wrap(message))
    assert decoded.stdout == ALL_BYTES
    assert decoded.stderr == INVALID_UTF8


def test_binary_stream_data_round_trips() -> None:
    decoded = wp.unwrap_response(wp.wrap(wp.StreamResponse(name="stdout", data=INVALID_UTF8)))
    assert decoded.data == INVALID_UTF8


def test_unknown_type_number_is_named() -> None:
    with pytest.raises(wp.ProtocolError, match="Unknown request type: 77"):
        wp.unwrap_request(b"\x08\x4d\x12\x00")
    with pytest.raises(wp.ProtocolError, match="Unknown response type: 77"):
        wp.unwrap_response(b"\x08\x4d\x12\x00")
    with pytest.raises(wp.ProtocolError, match="Unknown request type: 1"):
        wp.unwrap_request(wp.wrap(wp.ErrorResponse(message="x")))


@pytest.mark.parametrize(
    ("envelope", "words"),
    [
        (b"", "missing required fields: type"),
        (b"\x08\x5b", "missing required fields: payload"),
        (b"\x08", "truncated"),
        (b"\x08\x5b\x12\x05ab", "truncated"),
        (b"\x0a\x00\x12\x00", "wrong wire type"),
    ],
)
def test_malformed_envelope(envelope: bytes, words: str) -> None:
    with pytest.raises(wp.ProtocolError, match=words):
        wp.unwrap_request(envelope)


def test_missing_required_field_on_decode_and_encode() -> None:
    with pytest.raises(wp.ProtocolError, match="missing required fields: message"):
        wp.unwrap_request(b"\x08\x5d\x12\x00")
    with pytest.raises(wp.ProtocolError, match="missing required fields: message"):
        wp.wrap(wp.EchoRequest())


def test_invalid_utf8_in_a_text_field_is_refused() -> None:
    payload = b"\x0a\x02\xff\xfe"
    with pytest.raises(wp.ProtocolError, match=r"EchoRequest.message is not valid UTF-8"):
        wp.decode_message(wp.EchoRequest, payload)
    nested = wp.encode_message(wp.LinkResponse(info=wp.InfoResponse(state="x")))
    nested = nested.replace(b"\x52\x01x", b"\x52\x01\xff")
    with pytest.raises(wp.ProtocolError, match=r"LinkResponse.info.state"):
        wp.decode_message(wp.LinkResponse, nested)


def test_non_ascii_handles_round_trip() -> None:
    message = wp.InfoRequest(handle="héllo-✓")
    assert wp.unwrap_request(wp.wrap(message)).handle == "héllo-✓"


def test_names() -> None:
    assert wp.type_name(wp.CopyInRequest) == "CopyIn"
    assert wp.type_underscored(wp.LimitBandwidthResponse()) == "limit_bandwidth"
    assert wp.type_underscored(wp.NetInRequest) == "net_in"
    assert wp.type_number(wp.ErrorResponse) == 1
    assert wp.response_class_for(wp.RunRequest()) is wp.RunResponse
    assert wp.is_error(wp.ErrorResponse()) and not wp.is_error(wp.PingResponse())
    assert wp.is_request(wp.PingRequest()) and not wp.is_request(wp.PingResponse())
    with pytest.raises(wp.ProtocolError, match="neither a request nor a response"):
        wp.type_number(wp.ResourceLimits)


def test_scripts_are_filtered_from_logs() -> None:
    for cls in (wp.SpawnRequest, wp.RunRequest):
        assert wp.filtered_fields(cls) == ("script",)
        assert wp.filtered_dict(cls(handle="h", script="secret")) == {"handle": "h"}
    assert wp.filtered_fields(wp.CopyInRequest) == ()


def test_to_wire_refuses_the_wrong_side() -> None:
    with pytest.raises(wp.ProtocolError, match="expected a request"):
        wp.request_to_wire(wp.PingResponse())
    with pytest.raises(wp.ProtocolError, match="expected a response"):
        wp.response_to_wire(wp.PingRequest())


def test_a_decoder_stays_broken_after_a_bad_message() -> None:
    decoder = wp.MessageDecoder("request")
    decoder.feed(wp.encode_frame(b"\x08\x4d\x12\x00") + wp.request_to_wire(wp.PingRequest()))
    with pytest.raises(wp.ProtocolError, match="77"):
        next(decoder)
    with pytest.raises(wp.ProtocolError):
        next(decoder)


@pytest.mark.parametrize("size", [0, 1, 127, 128, 200, 16383, 16384, 70000])
def test_envelopes_of_every_length_encoding_unwrap(size: int) -> None:
    message = wp.EchoRequest(message="m" * size)
    envelope = wp.wrap(message)
    assert wp.unwrap(envelope) == (wp.type_number(message), message.SerializeToString())
    assert wp.request_to_wire(message) == wp.encode_frame(envelope)


@pytest.mark.parametrize(
    "envelope",
    [
        b"\x08\x5d\x12\x00\x18\x01",  # a field after the payload (kept unknown)
        b"\x12\x00\x08\x5d",  # the payload first
        b"\x08\xdd\x00\x12\x00",  # a type number in two bytes (overlong)
        b"\x08\x5d\x12\x80\x00",  # a length in two bytes (overlong)
    ],
)
def test_envelopes_in_other_forms_unwrap_the_long_way(envelope: bytes) -> None:
    assert wp.unwrap(envelope) == (93, b"")


@pytest.mark.parametrize("envelope", [b"\x08\x5d\x12\x01", b"\x08\x5d\x12\x81\x01xx"])
def test_an_envelope_shorter_than_its_length_is_refused(envelope: bytes) -> None:
    with pytest.raises(wp.ProtocolError, match="truncated"):
        wp.unwrap(envelope)


def test_next_message_is_none_until_a_whole_frame_arrived() -> None:
    decoder = wp.MessageDecoder("response")
    frame = wp.response_to_wire(wp.PingResponse())
    decoder.feed(frame[:-1])
    assert decoder.next_message() is None
    decoder.feed(frame[-1:] + frame)
    assert decoder.next_message() == wp.PingResponse()
    assert decoder.next_message() == wp.PingResponse()
    assert decoder.next_message() is None


def test_invalid_utf8_in_a_repeated_nested_message_is_refused() -> None:
    message = wp.CreateRequest(properties=[wp.Property(key="k", value="x")])
    payload = wp.encode_message(message).replace(b"\x12\x01x", b"\x12\x01\xff")
    with pytest.raises(wp.ProtocolError, match=r"CreateRequest.properties.value"):
        wp.decode_message(wp.CreateRequest, payload)


def test_a_large_payload_decodes_from_a_view_and_unwraps_to_bytes() -> None:
    message = wp.StreamResponse(name="stdout", data=bytes(range(256)) * 1024)
    envelope = wp.wrap(message)
    number, payload = wp.unwrap(envelope)
    assert (number, type(payload)) == (wp.type_number(message), bytes)
    assert wp.unwrap_response(envelope) == message


@pytest.mark.parametrize("cls", [wp.RunResponse, wp.LinkResponse])
@pytest.mark.parametrize("exit_status", [None, 0, 300])
@pytest.mark.parametrize(
    "stdout, stderr", [(b"", b""), (b"out\n", b""), (bytes(range(256)) * 4096, b"e" * 70000)]
)
def test_output_beside_the_message_is_the_same_frame(
    cls: Any, exit_status: int | None, stdout: bytes, stderr: bytes
) -> None:
    fields: dict[str, Any] = {"info": wp.InfoResponse(state="active", job_ids=[4])}
    if exit_status is not None:
        fields["exit_status"] = exit_status
    parts = wp.output_response_parts(cls(**fields), stdout, stderr)
    assert b"".join(parts) == wp.response_to_wire(cls(stdout=stdout, stderr=stderr, **fields))
    assert parts[1] is stdout and parts[3] is stderr  # not copied
    with pytest.raises(ValueError):
        wp.output_response_parts(cls(stdout=b"x"), b"", b"")


@pytest.mark.parametrize("name", ["stdout", "stderr", "", "x" * 300])
@pytest.mark.parametrize("size", [0, 1, 127, 128, 16383, 16384, 65536, 2_097_155])
def test_a_stream_chunk_written_directly_is_the_messages_frame(name: str, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    expected = wp.response_to_wire(wp.StreamResponse(name=name, data=data))
    assert wp.stream_chunk_wire(name, data) == expected


def test_an_empty_request_is_the_frame_it_always_was() -> None:
    assert wp.request_to_wire(wp.PingRequest()) == b"4\r\n\x08[\x12\x00\r\n"  # type 91
    assert wp.request_to_wire(wp.ListRequest()) == wp.encode_frame(wp.wrap(wp.ListRequest()))
    # Anything set, even a field this side does not know, is encoded as before.
    unknown = wp.PingRequest.FromString(b"\x08\x01")
    assert wp.request_to_wire(unknown) == wp.encode_frame(wp.wrap(unknown))
    assert wp.request_to_wire(unknown) != wp.request_to_wire(wp.PingRequest())
    listed = wp.ListRequest(properties=[wp.Property(key="a", value="b")])
    assert wp.unwrap_request(wp.request_to_wire(listed)[4:-2]) == listed
    with pytest.raises(wp.ProtocolError, match="missing required"):
        wp.request_to_wire(wp.DestroyRequest())


@pytest.mark.parametrize("cls", sorted(wp.RESPONSE_TYPES.values(), key=lambda c: c.__name__))
def test_an_empty_response_frame_decodes_to_the_empty_response(cls: type) -> None:
    frame = wp.empty_response_wire(cls)
    if not cls().IsInitialized():
        assert frame is None  # it has required fields: never sent empty
        return
    assert frame == wp.response_to_wire(cls())
    decoder = wp.MessageDecoder("response")
    decoder.feed(frame)
    assert decoder.next_message() == cls()


@pytest.mark.parametrize("cls", sorted(wp.REQUEST_TYPES.values(), key=lambda c: c.__name__))
def test_the_expected_response_of_each_request(cls: type) -> None:
    answer = wp.expected_response(cls)
    expected = wp.response_class_for(cls)
    assert answer == (expected, wp.empty_response_wire(expected))
    assert wp.expected_response(cls) is answer  # worked out once
