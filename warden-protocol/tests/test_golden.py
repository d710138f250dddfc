"""Byte compatibility with the original: every golden vector both ways."""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message as PbMessage

import warden.protocol as wp


def _cls(full_name: str) -> type[PbMessage]:
    return getattr(wp, full_name.removeprefix("warden."))  # type: ignore[no-any-return]


def _from_fields(message: PbMessage, fields: dict[str, Any]) -> PbMessage:
    for name, value in fields.items():
        field = message.DESCRIPTOR.fields_by_name[name]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.is_repeated:
                for item in value:
                    _from_fields(getattr(message, name).add(), item)
            else:
                _from_fields(getattr(message, name), value)
        elif field.is_repeated:
            getattr(message, name).extend(_value(v) for v in value)
        else:
            scalar = _value(value)
            if field.type == FieldDescriptor.TYPE_BYTES and isinstance(scalar, str):
                scalar = scalar.encode()
            setattr(message, name, scalar)
    return message


def _value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"hex"}:
        return bytes.fromhex(value["hex"])
    return value


def _expected(fields: dict[str, Any], descriptor: Any) -> dict[str, Any]:
    """The vector's fields as to_dict() shows them (bytes fields as bytes)."""
    out: dict[str, Any] = {}
    for name, value in fields.items():
        field = descriptor.fields_by_name[name]
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            sub = field.message_type
            out[name] = (
                [_expected(v, sub) for v in value]
                if isinstance(value, list)
                else _expected(value, sub)
            )
        elif field.type == FieldDescriptor.TYPE_BYTES:
            out[name] = _value(value) if isinstance(value, dict) else value.encode()
        else:
            out[name] = [_value(v) for v in value] if isinstance(value, list) else _value(value)
    return out


def test_vector_decodes_to_its_fields(vector: dict[str, Any]) -> None:
    cls = _cls(vector["message"])
    decoded = wp.decode_message(cls, bytes.fromhex(vector["payload_hex"]))
    assert wp.to_dict(decoded) == _expected(vector["fields"], cls.DESCRIPTOR)


def test_fields_encode_to_the_vector_bytes(vector: dict[str, Any]) -> None:
    message = _from_fields(_cls(vector["message"])(), vector["fields"])
    assert wp.encode_message(message).hex() == vector["payload_hex"]
    assert wp.wrap(message).hex() == vector["envelope_hex"]
    to_wire = wp.response_to_wire if wp.is_response(message) else wp.request_to_wire
    assert to_wire(message).hex() == vector["wire_hex"]


def test_wire_bytes_decode_through_the_frame_decoder(vector: dict[str, Any]) -> None:
    cls = _cls(vector["message"])
    kind = "response" if cls.__name__.endswith("Response") else "request"
    decoder = wp.MessageDecoder(kind)
    decoder.feed(bytes.fromhex(vector["wire_hex"]))
    (message,) = list(decoder)
    assert type(message) is cls
    assert wp.type_number(message) == vector["envelope_type"]
    assert wp.encode_message(message).hex() == vector["payload_hex"]


ORIGINAL_TYPES = {1, 11, 12, 13, 14, 21, 22, 23, 24, 31, 32, 41, 42, 51, 52, 53, 54, 91, 92, 93}


def test_every_type_has_request_and_response() -> None:
    numbers = {int(n) for n in wp.Message.Type.values()}
    assert numbers >= ORIGINAL_TYPES
    assert all(n >= 100 for n in numbers - ORIGINAL_TYPES), "extensions are numbered from 100"
    assert set(wp.RESPONSE_TYPES) == numbers
    assert set(wp.REQUEST_TYPES) == numbers - {wp.Message.Error}
