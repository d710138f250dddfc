# -*- test-case-name: tests.repl.test_flags -*-
"""``--field value`` arguments into a request, with the original's syntax.

A flag is ``--`` and a path of elements separated by ``.``; an element is a
field name, indexed with ``[N]`` when the field is repeated::

    --handle abc
    --bind_mounts[0].src_path /x --bind_mounts[0].mode RW
    --rlimits.nofile 1024
    --privileged                      (a bool: present means true, no value)

An index must append (``N`` = the current length) or name the last element
(``N`` = length - 1), so a repeated message is filled one element at a time.
Two shorthands append without an index: a repeated scalar
(``--handles a --handles b``) and properties as ``KEY=VALUE``
(``--properties owner=me``, the same as ``--properties[N].key owner
--properties[N].value me``).
Later flags overwrite earlier ones. Values are converted with
``warden.protocol.convert_text`` (enum names in any case, range-checked
integers).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from warden.protocol import ConversionError, convert_text

from ._errors import FlagError

__all__ = [
    "FlagElement",
    "descriptor_of",
    "is_flag",
    "missing_required_flags",
    "parse_flag",
    "populate",
]

_FLAG: Final = re.compile(r"--(\S.*)", re.DOTALL)
_ELEMENT: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?")
DELIMITER: Final = "."
#: The message a ``KEY=VALUE`` flag fills (container properties).
PROPERTY: Final = "warden.Property"

_M = TypeVar("_M", bound=Message)


def descriptor_of(message: Message | type[Message]) -> Descriptor:
    """The descriptor of a message or message class (the stubs allow two types)."""
    return cast(Descriptor, message.DESCRIPTOR)


@dataclass(frozen=True)
class FlagElement:
    """One step of a flag path: a field name and, for a repeated field, an index."""

    name: str
    index: int | None = None

    def __str__(self) -> str:
        return self.name if self.index is None else f"{self.name}[{self.index}]"


def is_flag(text: str) -> bool:
    """True when ``text`` looks like a flag (``--`` and at least one more character)."""
    return _FLAG.fullmatch(text) is not None


def parse_flag(text: str) -> list[FlagElement]:
    """Split ``--a[0].b`` into its elements; FlagError names what is malformed."""
    match = _FLAG.fullmatch(text)
    if match is None:
        raise FlagError(f"Invalid flag: '{text}'.")
    elements = []
    for part in match.group(1).split(DELIMITER):
        element = _ELEMENT.fullmatch(part)
        if element is None:
            raise FlagError(f"In flag: '{text}', Invalid flag element: '{part}'.")
        index = element.group(2)
        elements.append(FlagElement(element.group(1), None if index is None else int(index)))
    return elements


@dataclass
class _Target:
    """Where a flag's value goes: a scalar field of ``message``."""

    message: Message
    field: FieldDescriptor
    element: FlagElement


def _resolve(request: Message, text: str) -> _Target:
    """Walk a flag's path from ``request``, creating nested messages on the way."""
    message = request
    target: _Target | None = None
    for element in parse_flag(text):
        field = (
            None if target is not None else descriptor_of(message).fields_by_name.get(element.name)
        )
        if field is None:
            # Unknown name, or a path that goes on past a scalar field.
            raise FlagError(f"In flag: '{text}', the field: '{element}' is invalid.")
        if field.is_repeated:
            if element.index is None:
                raise FlagError(f"In flag: '{text}', the field: '{element}' is not indexed.")
            values: Any = getattr(message, field.name)
            if element.index not in (len(values), len(values) - 1):
                raise FlagError(
                    f"In flag: '{text}', the field: '{element}' is not indexed correctly."
                )
        elif element.index is not None:
            raise FlagError(f"In flag: '{text}', the field: '{element}' is not repeated.")
        if field.type != FieldDescriptor.TYPE_MESSAGE:
            target = _Target(message, field, element)
        elif field.is_repeated:
            items: Any = getattr(message, field.name)
            message = items.add() if element.index == len(items) else items[-1]
        else:
            message = getattr(message, field.name)
    if target is None:
        # The path ends on a message: there is nothing to put a value in.
        raise FlagError(f"Invalid flag: '{text}'.")
    return target


def _shorthand(request: Message, text: str) -> FieldDescriptor | None:
    """The repeated field a flag without an index appends to, if it is one."""
    elements = parse_flag(text)
    if len(elements) != 1 or elements[0].index is not None:
        return None
    field = descriptor_of(request).fields_by_name.get(elements[0].name)
    if field is None or not field.is_repeated:
        return None
    if field.message_type is None or field.message_type.full_name == PROPERTY:
        return field
    return None


def _append_shorthand(request: Message, field: FieldDescriptor, text: str, value: str) -> None:
    values: Any = getattr(request, field.name)
    if field.message_type is None:
        target = _Target(request, field, FlagElement(field.name, len(values)))
        _assign(target, _convert(text, target, value))
        return
    key, equals, rest = value.partition("=")
    if not equals or not key:
        raise FlagError(f"In flag: '{text}', expected KEY=VALUE, got '{value}'.")
    try:
        (key + rest).encode("utf-8")
    except UnicodeEncodeError:
        shown = value.encode("utf-8", errors="surrogateescape")
        raise FlagError(f"In flag: '{text}', the value is not valid UTF-8: {shown!r}") from None
    values.add(key=key, value=rest)


def _convert(text: str, target: _Target, value: str) -> object:
    try:
        converted = convert_text(target.field, value)
        if isinstance(converted, str):
            converted.encode("utf-8")  # bytes that were not UTF-8 come as surrogates
        return converted
    except UnicodeEncodeError:
        shown = value.encode("utf-8", errors="surrogateescape")
        raise FlagError(f"In flag: '{text}', the value is not valid UTF-8: {shown!r}") from None
    except ConversionError as error:
        message = str(error)
        if error.expected not in message:
            stop = "." if message.endswith(".") else ""
            message = f"{message.removesuffix('.')} (expected {error.expected}){stop}"
        raise FlagError(f"In flag: '{text}', {message}") from None


def _assign(target: _Target, value: object) -> None:
    name = target.field.name
    if not target.field.is_repeated:
        setattr(target.message, name, value)
        return
    values: Any = getattr(target.message, name)
    if target.element.index == len(values):
        values.append(value)
    else:
        values[-1] = value


def populate(request: _M, arguments: Sequence[str]) -> _M:
    """Set the fields of ``request`` from ``arguments`` and return it.

    A bool flag takes no value; every other flag takes the next argument,
    which must not itself look like a flag.
    """
    position = 0
    while position < len(arguments):
        text = arguments[position]
        shorthand = _shorthand(request, text)
        if shorthand is not None:
            if position + 1 >= len(arguments) or is_flag(arguments[position + 1]):
                raise FlagError(f"Invalid flag: '{text}'.")
            _append_shorthand(request, shorthand, text, arguments[position + 1])
            position += 2
            continue
        target = _resolve(request, text)
        if target.field.type == FieldDescriptor.TYPE_BOOL:
            _assign(target, True)
            position += 1
            continue
        if position + 1 >= len(arguments) or is_flag(arguments[position + 1]):
            raise FlagError(f"Invalid flag: '{text}'.")
        _assign(target, _convert(text, target, arguments[position + 1]))
        position += 2
    return request


def missing_required_flags(request: Message) -> list[str]:
    """The required fields left unset, written as flags (``--bind_mounts[0].mode``)."""
    return ["--" + path for path in request.FindInitializationErrors()]  # type: ignore[attr-defined]
