"""StreamIn and StreamOut (extensions): their type numbers and their bytes fields."""

from __future__ import annotations

from warden.protocol import (
    BYTES_FIELDS,
    MessageDecoder,
    StreamInRequest,
    StreamInResponse,
    StreamOutRequest,
    StreamOutResponse,
    request_class,
    request_to_wire,
    response_class,
    response_to_wire,
    type_name,
    type_number,
    type_underscored,
)

EVERY_BYTE = bytes(range(256)) * 3


def test_the_assigned_numbers_and_names() -> None:
    assert (type_number(StreamInRequest), type_number(StreamOutResponse)) == (108, 109)
    assert request_class(108) is StreamInRequest and response_class(108) is StreamInResponse
    assert request_class(109) is StreamOutRequest and response_class(109) is StreamOutResponse
    assert (type_name(StreamInRequest), type_underscored(StreamOutRequest)) == (
        "StreamIn",
        "stream_out",
    )


def test_chunks_carry_any_bytes_through_the_framing() -> None:
    assert {"StreamInRequest.data", "StreamOutResponse.data"} <= set(BYTES_FIELDS)
    chunk = StreamInRequest(handle="h", dst_path="/x", data=EVERY_BYTE, last=True)
    server_side = MessageDecoder("request")
    server_side.feed(request_to_wire(chunk))
    assert list(server_side) == [chunk]
    frames = [StreamOutResponse(data=EVERY_BYTE), StreamOutResponse(done=True)]
    client_side = MessageDecoder("response")
    client_side.feed(b"".join(response_to_wire(frame) for frame in frames))
    assert list(client_side) == frames
    assert StreamInResponse().done is False and StreamInRequest().last is False
