# -*- test-case-name: tests.test_envelope -*-
"""Type numbers, names and the request/response class maps.

One table, built from the ``Message.Type`` enum: the number ``N`` names the
class ``<Name>Request`` and the class ``<Name>Response``; ``Error`` (1) exists
only as a response.
"""

from __future__ import annotations

import re
from typing import Final, TypeAlias

from google.protobuf.message import Message as _PbMessage

from . import _messages
from ._messages import ErrorResponse, Message, RunRequest, SpawnRequest
from .errors import ProtocolError

__all__ = [
    "FIRST_EXTENSION_TYPE",
    "REQUEST_TYPES",
    "RESPONSE_TYPES",
    "Request",
    "Response",
    "filtered_fields",
    "is_error",
    "is_extension",
    "is_request",
    "is_response",
    "request_class",
    "response_class",
    "response_class_for",
    "type_name",
    "type_number",
    "type_underscored",
]

#: Any generated request class instance (``CreateRequest``, ``PingRequest`` ...).
Request: TypeAlias = _PbMessage
#: Any generated response class instance, ``ErrorResponse`` included.
Response: TypeAlias = _PbMessage


def _build(suffix: str) -> dict[int, type[_PbMessage]]:
    table: dict[int, type[_PbMessage]] = {}
    for name, number in Message.Type.items():
        cls = getattr(_messages, name + suffix, None)
        if cls is not None:
            table[number] = cls
    return table


#: Type numbers from here up are extensions, not in the original warden.
FIRST_EXTENSION_TYPE: Final = 100

#: Type number -> request class.
REQUEST_TYPES: Final[dict[int, type[_PbMessage]]] = _build("Request")
#: Type number -> response class (1 is ErrorResponse).
RESPONSE_TYPES: Final[dict[int, type[_PbMessage]]] = _build("Response")

_NUMBER_OF: Final[dict[type[_PbMessage], int]] = {
    **{cls: n for n, cls in REQUEST_TYPES.items()},
    **{cls: n for n, cls in RESPONSE_TYPES.items()},
}

#: The request classes and the response classes (ErrorResponse among them).
_REQUEST_CLASSES: Final = frozenset(REQUEST_TYPES.values())
_RESPONSE_CLASSES: Final = frozenset(RESPONSE_TYPES.values())

_FILTERED: Final[dict[type[_PbMessage], tuple[str, ...]]] = {
    # A script may hold secrets; keep both scripts out of logs (the original
    # only hid Spawn's).
    SpawnRequest: ("script",),
    RunRequest: ("script",),
}

_CAMEL_BOUNDARY = re.compile(r"(?<=.)([A-Z])")


def _cls(message: _PbMessage | type[_PbMessage]) -> type[_PbMessage]:
    return message if isinstance(message, type) else type(message)


def type_number(message: _PbMessage | type[_PbMessage]) -> int:
    """The ``Message.Type`` number of a request or response (class or instance)."""
    try:
        return _NUMBER_OF[_cls(message)]
    except KeyError:
        raise ProtocolError(
            f"{_cls(message).__name__} is neither a request nor a response"
        ) from None


def type_name(message: _PbMessage | type[_PbMessage]) -> str:
    """``CopyIn`` for ``CopyInRequest`` and ``CopyInResponse``."""
    type_number(message)
    return re.sub(r"(Request|Response)$", "", _cls(message).__name__)


def type_underscored(message: _PbMessage | type[_PbMessage]) -> str:
    """``copy_in`` for ``CopyInRequest``; the command name in the shell."""
    return _CAMEL_BOUNDARY.sub(r"_\1", type_name(message)).lower()


def request_class(number: int) -> type[_PbMessage]:
    """The request class for a type number; ProtocolError names unknown ones."""
    try:
        return REQUEST_TYPES[number]
    except KeyError:
        raise ProtocolError(f"Unknown request type: {number}") from None


def response_class(number: int) -> type[_PbMessage]:
    """The response class for a type number; ProtocolError names unknown ones."""
    try:
        return RESPONSE_TYPES[number]
    except KeyError:
        raise ProtocolError(f"Unknown response type: {number}") from None


def response_class_for(request: _PbMessage | type[_PbMessage]) -> type[_PbMessage]:
    """The response class that answers a request class or instance."""
    return response_class(type_number(request))


def is_extension(message: _PbMessage | type[_PbMessage]) -> bool:
    """True for a request or response of an extension (type number 100 and up)."""
    return type_number(message) >= FIRST_EXTENSION_TYPE


def is_request(message: object) -> bool:
    """True for an instance of a generated request class."""
    return type(message) in _REQUEST_CLASSES


def is_response(message: object) -> bool:
    """True for an instance of a generated response class."""
    return type(message) in _RESPONSE_CLASSES


def is_error(response: _PbMessage) -> bool:
    """True only for ErrorResponse."""
    return isinstance(response, ErrorResponse)


def filtered_fields(message: _PbMessage | type[_PbMessage]) -> tuple[str, ...]:
    """Names of the fields kept out of logs (the script of Spawn and Run)."""
    return _FILTERED.get(_cls(message), ())
