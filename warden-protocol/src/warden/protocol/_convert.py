# -*- test-case-name: tests.test_convert -*-
"""Command-line text to field values, for the shell and other text front ends."""

from __future__ import annotations

from typing import Final

from google.protobuf.descriptor import FieldDescriptor

__all__ = ["ConversionError", "convert_text", "field_type_text"]

_F = FieldDescriptor
_INT_RANGES: Final[dict[int, tuple[int, int]]] = {
    _F.TYPE_INT32: (-(2**31), 2**31 - 1),
    _F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    _F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    _F.TYPE_UINT32: (0, 2**32 - 1),
    _F.TYPE_FIXED32: (0, 2**32 - 1),
    _F.TYPE_INT64: (-(2**63), 2**63 - 1),
    _F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    _F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    _F.TYPE_UINT64: (0, 2**64 - 1),
    _F.TYPE_FIXED64: (0, 2**64 - 1),
}
_TYPE_NAMES: Final[dict[int, str]] = {
    _F.TYPE_BOOL: "bool",
    _F.TYPE_STRING: "string",
    _F.TYPE_BYTES: "bytes",
    _F.TYPE_INT32: "int32",
    _F.TYPE_SINT32: "sint32",
    _F.TYPE_SFIXED32: "sfixed32",
    _F.TYPE_UINT32: "uint32",
    _F.TYPE_FIXED32: "fixed32",
    _F.TYPE_INT64: "int64",
    _F.TYPE_SINT64: "sint64",
    _F.TYPE_SFIXED64: "sfixed64",
    _F.TYPE_UINT64: "uint64",
    _F.TYPE_FIXED64: "fixed64",
    _F.TYPE_FLOAT: "float",
    _F.TYPE_DOUBLE: "double",
}


class ConversionError(ValueError):
    """Text that does not convert to a field's type.

    ``field`` is the field's name and ``expected`` says what would have been
    accepted; the message uses the original's words where it had some.
    """

    def __init__(self, field: str, expected: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.expected = expected


def field_type_text(field: FieldDescriptor) -> str:
    """The type as the shell's help shows it: ``uint32``, ``(RO, RW)`` ..."""
    if field.enum_type is not None:
        return "(" + ", ".join(sorted(v.name for v in field.enum_type.values)) + ")"
    if field.message_type is not None:
        return str(field.message_type.name)
    return _TYPE_NAMES.get(field.type, "unknown")


def convert_text(field: FieldDescriptor, text: str) -> bool | int | float | str | bytes:
    """Convert ``text`` to a value for ``field``.

    bool takes ``true``/``false`` in any case; integers take decimal, ``0x``,
    ``0o`` and ``0b`` forms and are range-checked for their type; enums take a
    value name in any case; strings are taken as they are.
    """
    kind = field.type
    if kind == _F.TYPE_BOOL:
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise ConversionError(
            field.name, "'true' or 'false'", f"Expected 'true' or 'false', but received: '{text}'."
        )
    if kind in _INT_RANGES:
        return _convert_int(field, text)
    if kind in (_F.TYPE_FLOAT, _F.TYPE_DOUBLE):
        try:
            return float(text)
        except ValueError:
            raise ConversionError(
                field.name, "a number", f'invalid value for Float(): "{text}"'
            ) from None
    if kind == _F.TYPE_ENUM:
        return _convert_enum(field, text)
    if kind == _F.TYPE_STRING:
        return text
    if kind == _F.TYPE_BYTES:
        return text.encode()
    raise ConversionError(
        field.name,
        "a scalar field",
        f"Non-existent protocol type passed: '{field_type_text(field)}'.",
    )


def _convert_int(field: FieldDescriptor, text: str) -> int:
    low, high = _INT_RANGES[field.type]
    expected = f"an integer from {low} to {high}"
    stripped = text.strip()
    try:
        value = int(stripped, 0)
    except ValueError:
        try:
            value = int(stripped, 10)  # leading zeros, which base 0 refuses
        except ValueError:
            raise ConversionError(
                field.name, expected, f'invalid value for Integer(): "{text}"'
            ) from None
    if not low <= value <= high:
        raise ConversionError(
            field.name,
            expected,
            f"Value {value} for '{field.name}' is out of range for {field_type_text(field)} "
            f"(expected {expected}).",
        )
    return value


def _convert_enum(field: FieldDescriptor, text: str) -> int:
    enum = field.enum_type
    assert enum is not None
    values = enum.values_by_name
    for name, value in values.items():
        if name.lower() == text.lower():
            return int(value.number)
    raise ConversionError(
        field.name,
        "one of " + ", ".join(sorted(values)),
        f"The constant: '{text}' is not defined in the module: '{enum.full_name}'.",
    )
