# -*- test-case-name: tests.test_config -*-
"""The kinds of value a configuration key may hold: each checks and converts one value.

A ``Kind`` is called with the dotted key (for the message) and the value as
read from YAML; it returns the value to use or raises ``ConfigError`` naming
the key, what was expected and what was found, on one line. ``name`` is what
the README's configuration table shows in its type column.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ._errors import ConfigError
from ._security import parse_capabilities

__all__ = [
    "BOOLEAN",
    "CAPABILITIES",
    "FILE_MODE",
    "INTEGER",
    "IPV4_NETWORK",
    "NETWORK_LIST",
    "NON_NEGATIVE",
    "NON_NEGATIVE_SECONDS",
    "OPTIONAL_NON_NEGATIVE",
    "OPTIONAL_POSITIVE",
    "OPTIONAL_STRING",
    "PORT",
    "RLIMIT_NAMES",
    "STRING",
    "STRING_LIST",
    "Kind",
    "choice",
    "integer_range",
    "rlimits",
    "show",
]

#: Resource limits a job may set, in the original's order (ResourceLimits fields).
RLIMIT_NAMES: Final = (
    "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
    "nice", "nofile", "nproc", "rss", "rtprio", "sigpending", "stack",
)  # fmt: skip


@dataclass(frozen=True)
class Kind:
    """A named check. ``nullable``: null is a value of its own (else null means the default)."""

    name: str
    check: Callable[[str, Any], Any]
    nullable: bool = False

    def __call__(self, key: str, value: Any) -> Any:
        """The checked (and converted) value, or ``ConfigError`` naming ``key``."""
        return self.check(key, value)


def show(value: Any) -> str:
    """A found value in an error message: its YAML type and its text."""
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"


def _integer(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected an integer, got {show(value)}")
    return value


def _non_negative(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{key}: expected a non-negative integer, got {show(value)}")
    return value


def _optional_non_negative(key: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{key}: expected a non-negative integer or null, got {show(value)}")
    return value


def _optional_positive(key: str, value: Any) -> int | None:
    if value is None:
        return None
    number = _integer(key, value)
    if number < 1:
        raise ConfigError(f"{key}: expected a positive integer, got {number}")
    return number


def _non_negative_seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{key}: expected a non-negative number of seconds, got {show(value)}")
    return float(value)


def integer_range(low: int, high: int, what: str = "an integer") -> Kind:
    """An integer within ``low..high``."""

    def check(key: str, value: Any) -> int:
        number = _integer(key, value)
        if not low <= number <= high:
            raise ConfigError(f"{key}: expected {what} {low}..{high}, got {number}")
        return number

    return Kind(f"integer {low}..{high}", check)


def _file_mode(key: str, value: Any) -> int:
    mode = _integer(key, value)
    if not 0 <= mode <= 0o7777:
        raise ConfigError(f"{key}: expected a file mode such as 0755, got {mode}")
    return mode


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: expected a non-empty string, got {show(value)}")
    return value


def _optional_string(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string or null, got {show(value)}")
    return value or None


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {show(value)}")
    return value


def _string_list(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list of strings, got {show(value)}")
    out = []
    for index, item in enumerate(value):
        if item is None:  # the original dropped nil entries
            continue
        if not isinstance(item, str):
            raise ConfigError(f"{key}[{index}]: expected a string, got {show(item)}")
        out.append(item)
    return tuple(out)


def _network_list(key: str, value: Any) -> tuple[str, ...]:
    """Addresses or CIDR networks, as the host firewall's iptables rules take them."""
    networks = _string_list(key, value)
    for index, network in enumerate(networks):
        try:
            ipaddress.IPv4Network(network, strict=False)
        except ValueError:
            raise ConfigError(
                f"{key}[{index}]: expected an IPv4 address or network such as 10.0.0.0/8, "
                f"got {network!r}"
            ) from None
    return networks


def _ipv4_network(key: str, value: Any) -> str:
    text = _string(key, value)
    try:
        if "/" not in text:
            raise ValueError(text)
        ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise ConfigError(
            f"{key}: expected an address/netmask such as 10.254.0.0/24, got {text!r}"
        ) from None
    return text


def choice(
    options: Mapping[str, str] | Iterable[str], name: str | None = None, spelled: str | None = None
) -> Kind:
    """One of ``options``, case-insensitive; a mapping (lower-case keys) also translates spellings.

    ``spelled``: how the message lists the accepted values (default: the options).
    """
    table = dict(options) if isinstance(options, Mapping) else {o: o for o in options}
    spelled = spelled or ", ".join(table)

    def check(key: str, value: Any) -> str:
        found = table.get(value.lower()) if isinstance(value, str) else None
        if found is None:
            raise ConfigError(f"{key}: expected one of {spelled}, got {show(value)}")
        return found

    return Kind(name or "one of " + spelled, check)


def rlimits(names: Iterable[str]) -> Kind:
    """A mapping of resource limit names to non-negative integers (null entries dropped)."""
    known = tuple(names)

    def check(key: str, value: Any) -> dict[str, int]:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a mapping of resource limits, got {show(value)}")
        out: dict[str, int] = {}
        for name, limit in value.items():
            if name not in known:
                raise ConfigError(
                    f"{key}.{name}: unknown resource limit (expected one of {', '.join(known)})"
                )
            if limit is not None:
                out[name] = _non_negative(f"{key}.{name}", limit)
        return out

    return Kind("mapping of rlimit name to integer >= 0", check)


STRING: Final = Kind("string", _string)
OPTIONAL_STRING: Final = Kind("string or null", _optional_string, nullable=True)
BOOLEAN: Final = Kind("boolean", _boolean)
INTEGER: Final = Kind("integer", _integer)
NON_NEGATIVE: Final = Kind("integer >= 0", _non_negative)
OPTIONAL_NON_NEGATIVE: Final = Kind("integer >= 0 or null", _optional_non_negative, nullable=True)
OPTIONAL_POSITIVE: Final = Kind("integer >= 1 or null", _optional_positive, nullable=True)
NON_NEGATIVE_SECONDS: Final = Kind("number >= 0", _non_negative_seconds)
PORT: Final = integer_range(0, 65535, "a port number")
FILE_MODE: Final = Kind("file mode", _file_mode)
STRING_LIST: Final = Kind("list of strings", _string_list)
NETWORK_LIST: Final = Kind("list of IPv4 networks", _network_list)
IPV4_NETWORK: Final = Kind("IPv4 address/netmask", _ipv4_network)
CAPABILITIES: Final = Kind("capability names", parse_capabilities)
