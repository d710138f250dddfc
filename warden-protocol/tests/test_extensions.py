"""The extensions: their numbers, their fields on original messages (skipped
by a parser that knows only the original's), their Python shapes, and the
error a client raises when a server does not know one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message as PbMessage
from google.protobuf.unknown_fields import UnknownFieldSet

import warden.protocol as wp
from warden.protocol.errors import ExtensionNotSupported, ServerError, server_error

README = Path(__file__).resolve().parents[1] / "README.md"

#: Assigned numbers (shared by every extension: see the README's table).
MINE = {
    "SetProperty": 100,
    "GetProperty": 101,
    "RemoveProperty": 102,
    "BulkInfo": 103,
    "Signal": 104,
    "Capacity": 105,
}


def original_class(cls: type[PbMessage]) -> type[PbMessage]:
    """``cls`` as the original schema has it: no field numbered 100 or more."""
    proto = descriptor_pb2.FileDescriptorProto()
    cls.DESCRIPTOR.file.CopyToProto(proto)  # type: ignore[attr-defined]
    proto.name = "original_" + proto.name.rsplit("/", 1)[-1]
    proto.package = "original"
    del proto.dependency[:]

    def strip(message: descriptor_pb2.DescriptorProto) -> None:
        kept = [f for f in message.field if f.number < 100]
        del message.field[:]
        message.field.extend(kept)
        for field in message.field:
            if field.HasField("type_name"):
                field.type_name = field.type_name.replace(".warden.", ".original.")
        for nested in message.nested_type:
            strip(nested)

    for message in proto.message_type:
        strip(message)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    found = pool.FindMessageTypeByName("original." + cls.DESCRIPTOR.name)
    return message_factory.GetMessageClass(found)


def test_the_assigned_type_numbers() -> None:
    for name, number in MINE.items():
        assert wp.Message.Type.Value(name) == number
        assert wp.REQUEST_TYPES[number].__name__ == f"{name}Request"
        assert wp.RESPONSE_TYPES[number].__name__ == f"{name}Response"
        assert wp.is_extension(wp.REQUEST_TYPES[number])
    assert not any(wp.is_extension(cls) for n, cls in wp.REQUEST_TYPES.items() if n < 100)


def test_the_readme_lists_every_extension_with_its_number() -> None:
    text = README.read_text()
    for name, number in MINE.items():
        assert re.search(rf"\| `{name}Request` / `{name}Response` \| {number} \|", text), name


@pytest.mark.parametrize(
    "message",
    [
        wp.CreateRequest(handle="h", grace_time=5, properties=[wp.Property(key="k", value="v")]),
        wp.ListRequest(properties=[wp.Property(key="a", value="1")]),
        wp.InfoResponse(state="active", job_ids=[3], properties=[wp.Property(key="k", value="é")]),
    ],
    ids=lambda m: type(m).__name__,
)
def test_an_original_parser_skips_the_extension_fields(message: PbMessage) -> None:
    original = original_class(type(message)).FromString(wp.encode_message(message))
    assert [f.field_number for f in UnknownFieldSet(original)] == [100]
    without = type(message)()
    without.CopyFrom(message)
    without.ClearField("properties")  # type: ignore[arg-type]
    original.DiscardUnknownFields()
    assert original.SerializeToString() == wp.encode_message(without)


@pytest.mark.parametrize("cls", [wp.CreateRequest, wp.ListRequest, wp.InfoResponse])
def test_unset_extension_fields_leave_the_original_bytes(cls: type[PbMessage]) -> None:
    message = cls(state="stopped") if cls is wp.InfoResponse else cls()
    original = original_class(cls).FromString(wp.encode_message(message))
    assert len(UnknownFieldSet(original)) == 0
    assert original.SerializeToString() == wp.encode_message(message)


def test_properties_as_dicts() -> None:
    assert wp.property_list(None) is None
    listed = wp.property_list({"a": "1", "b": "2"})
    assert listed == [wp.Property(key="a", value="1"), wp.Property(key="b", value="2")]
    assert wp.property_list([{"key": "c", "value": "3"}]) == [wp.Property(key="c", value="3")]
    request = wp.CreateRequest(properties=listed)
    assert wp.properties_of(request) == {"a": "1", "b": "2"}


def test_bulk_info_result() -> None:
    response = wp.BulkInfoResponse()
    response.entries.add(handle="a", info=wp.InfoResponse(state="active"))
    response.entries.add(handle="b", error="unknown handle")
    result = wp.bulk_info_result(response)
    assert list(result) == ["a", "b"]
    assert result["a"] == wp.InfoResponse(state="active")
    assert isinstance(result["b"], ServerError)
    assert str(result["b"]) == "unknown handle"
    assert wp.property_value(wp.GetPropertyResponse(value="v")) == "v"


@pytest.mark.parametrize(
    "said",
    [
        "Unknown request type: 104",  # ours, for a type number it cannot decode
        "unknown request type 104",
        "Unknown request: SignalRequest",  # ours, for a type without a handler
    ],
)
def test_an_unknown_type_answer_to_an_extension_is_extension_not_supported(said: str) -> None:
    error = server_error(wp.ErrorResponse(message=said), wp.SignalRequest)
    assert isinstance(error, ExtensionNotSupported)
    assert str(error) == "the server does not support signal"
    assert (error.method, error.server_message) == ("signal", said)
    # Given the response class, as the clients do, it is the same.
    assert isinstance(server_error(wp.ErrorResponse(message=said), wp.SignalResponse), ServerError)
    assert type(server_error(wp.ErrorResponse(message=said), wp.SignalResponse)) is type(error)


def test_other_errors_stay_server_errors() -> None:
    unknown = wp.ErrorResponse(message="Unknown request type: 104")
    assert type(server_error(unknown, wp.InfoRequest)) is ServerError  # an original request
    assert type(server_error(unknown)) is ServerError
    other = wp.ErrorResponse(message="unknown handle")
    assert type(server_error(other, wp.SignalRequest)) is ServerError


def test_the_server_sentence_for_an_unknown_type_is_the_one_recognised() -> None:
    with pytest.raises(wp.ProtocolError) as caught:
        wp.unwrap_request(bytes([0x08, 0xFA, 0x01, 0x12, 0x00]))  # type 250
    said = str(caught.value)
    assert said == "Unknown request type: 250"
    assert isinstance(
        server_error(wp.ErrorResponse(message=said), wp.CapacityRequest), ExtensionNotSupported
    )
