# -*- test-case-name: tests.repl.test_format -*-
"""A response as ``field : value`` lines, as the original printed it.

Only set fields appear, in schema order; repeated fields are indexed
(``handles[0]``), nested messages flattened with dots
(``memory_stat.rss``); bools print ``true``/``false``, enums their name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from ._flags import descriptor_of

__all__ = ["flatten", "format_response"]


def _scalar_text(field: FieldDescriptor, value: Any) -> str:
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "true" if value else "false"
    if field.enum_type is not None:
        known = field.enum_type.values_by_number.get(value)
        return known.name if known is not None else str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _is_set(message: Message, field: FieldDescriptor) -> bool:
    if field.is_repeated:
        return len(getattr(message, field.name)) > 0
    return message.HasField(field.name)


def flatten(message: Message, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(key, text) for every set scalar of ``message``, nested ones included."""
    for field in descriptor_of(message).fields:
        if not _is_set(message, field):
            continue
        value = getattr(message, field.name)
        items = list(enumerate(value)) if field.is_repeated else [(None, value)]
        for index, item in items:
            key = prefix + field.name + ("" if index is None else f"[{index}]")
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                yield from flatten(item, key + ".")
            else:
                yield key, _scalar_text(field, item)


def format_response(message: Message) -> str:
    """``key : value`` lines for a response; empty for an empty response."""
    return "".join(f"{key} : {text}\n" for key, text in flatten(message))
