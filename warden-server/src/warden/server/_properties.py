# -*- test-case-name: tests.test_extensions -*-
"""Container properties (an extension): limits, and List's filter.

A property is a key/value pair of text kept with a container, in its
snapshot. The limits are ``server.property_key_limit`` and
``server.property_value_limit`` (UTF-8 bytes) and
``server.properties_per_container``; each error names what was too big.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from warden.protocol import Property

from ._config import ServerConfig
from ._errors import WardenError

__all__ = ["check_count", "check_pair", "matches", "validated"]


def check_pair(config: ServerConfig, key: str, value: str) -> None:
    """WardenError naming the key or value that breaks a limit."""
    if not key:
        raise WardenError("property key is empty")
    size = len(key.encode())
    if size > config.property_key_limit:
        raise WardenError(
            f"property key is too long: {size} bytes (at most {config.property_key_limit})"
        )
    size = len(value.encode())
    if size > config.property_value_limit:
        raise WardenError(
            f"property value of {key!r} is too long: {size} bytes "
            f"(at most {config.property_value_limit})"
        )


def check_count(config: ServerConfig, count: int) -> None:
    """WardenError when a container would hold more properties than allowed."""
    if count > config.properties_per_container:
        raise WardenError(
            f"too many properties: {count} "
            f"(at most {config.properties_per_container} per container)"
        )


def validated(config: ServerConfig, properties: Iterable[Property]) -> dict[str, str]:
    """A Create's properties as a dict (a later pair wins), every limit checked."""
    result: dict[str, str] = {}
    for prop in properties:
        check_pair(config, prop.key, prop.value)
        result[prop.key] = prop.value
    check_count(config, len(result))
    return result


def matches(properties: Mapping[str, str], wanted: Iterable[Property]) -> bool:
    """Whether ``properties`` hold every wanted pair (List's filter)."""
    return all(properties.get(p.key) == p.value for p in wanted)
