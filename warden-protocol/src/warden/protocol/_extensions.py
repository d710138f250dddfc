# -*- test-case-name: tests.test_extensions -*-
"""Python shapes of the extension messages, shared by both clients.

Properties travel as repeated ``Property`` pairs; users give and get them as
a ``dict``. BulkInfo answers one entry per handle; users get a ``dict`` of
handle to ``InfoResponse`` or the ``ServerError`` that says why not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from ._messages import BulkInfoResponse, GetPropertyResponse, InfoResponse, Property
from .errors import ServerError

__all__ = [
    "SIGNAL_NAMES",
    "bulk_info_result",
    "properties_of",
    "property_list",
    "property_value",
]

#: The signals Signal may send (``SIG`` prefix and case optional), in the
#: order the server's error lists them.
SIGNAL_NAMES: Final = ("TERM", "KILL", "INT", "HUP", "QUIT", "USR1", "USR2")


def property_list(
    properties: Mapping[str, str] | Iterable[Property | Mapping[str, Any]] | None,
) -> list[Property] | None:
    """A ``{key: value}`` dict (or Property messages) as ``Property`` messages.

    None stays None (the field is left unset).
    """
    if properties is None:
        return None
    if isinstance(properties, Mapping):
        return [Property(key=key, value=value) for key, value in properties.items()]
    return [p if isinstance(p, Property) else Property(**p) for p in properties]


def properties_of(message: Any) -> dict[str, str]:
    """The ``properties`` of an InfoResponse (or a Create or List request) as a dict."""
    return {p.key: p.value for p in message.properties}


def property_value(response: GetPropertyResponse) -> str:
    """What ``get_property`` returns: the value."""
    return response.value


def bulk_info_result(response: BulkInfoResponse) -> dict[str, InfoResponse | ServerError]:
    """What ``bulk_info`` returns: handle -> its Info, or a ServerError saying why not."""
    result: dict[str, InfoResponse | ServerError] = {}
    for entry in response.entries:
        if entry.HasField("info"):
            result[entry.handle] = entry.info
        else:
            result[entry.handle] = ServerError(entry.error or "no info")
    return result
