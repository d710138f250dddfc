# -*- test-case-name: tests.test_pools -*-
"""Pools of /30 networks, host ports and uids.

A pool is an ordered list of entries, each available now or only after a time
(the release delay). ``acquire`` looks only at the head of the list, as the
original did, so a recently released entry at the head hides later ones until
its delay has passed. ``release`` puts an entry at the tail and ignores entries
outside the pool's range or already in the pool, so releasing twice is
harmless.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Generic, TypeVar

from ._errors import ConfigError, WardenError

__all__ = [
    "NETMASK",
    "NetworkPool",
    "Pool",
    "PoolExhaustedError",
    "PortPool",
    "UidPool",
]

T = TypeVar("T")

#: Each container gets a /30: network, host side (+1), container side (+2), broadcast.
NETMASK = "255.255.255.252"


class PoolExhaustedError(WardenError):
    """Nothing to hand out; the message says what ran out."""


class Pool(Generic[T]):
    """Entries handed out in order, returned to the tail after ``release_delay`` seconds.

    Every operation takes the same time whatever the pool's size: the entries
    are the keys of an ordered dict (insertion order is the pool's order), the
    time each one is available from its value.
    """

    #: Error text when ``acquire`` finds nothing.
    exhausted_message = "nothing available"

    def __init__(
        self,
        entries: Iterable[T],
        *,
        release_delay: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._entries: OrderedDict[T, float | None] = OrderedDict.fromkeys(entries)
        self._members = frozenset(self._entries)
        self.release_delay = release_delay
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """How many entries the pool was made with (free or not)."""
        return len(self._members)

    def __contains__(self, entry: object) -> bool:
        try:
            return entry in self._entries
        except TypeError:  # unhashable: no entry
            return False

    def _available(self, after: float | None) -> bool:
        return after is None or after <= self._clock()

    def acquire(self) -> T:
        """Take the head entry if it is available now; else raise PoolExhaustedError."""
        if self._entries and self._available(self._entries[next(iter(self._entries))]):
            return self._entries.popitem(last=False)[0]
        raise PoolExhaustedError(self.exhausted_message)

    def fetch(self, entry: T) -> bool:
        """Take a specific entry if it is in the pool and available now."""
        if entry in self and self._available(self._entries[entry]):
            del self._entries[entry]
            return True
        return False

    def release(self, entry: T) -> None:
        """Return an entry; unknown entries and entries already held are ignored."""
        if entry not in self._members or entry in self._entries:
            return
        self._entries[entry] = self._clock() + self.release_delay

    def delete(self, *entries: T) -> None:
        """Remove entries for good (in use by containers recovered at start)."""
        for entry in entries:
            self._entries.pop(entry, None)


class NetworkPool(Pool[ipaddress.IPv4Address]):
    """Consecutive /30 subnets of a network such as ``10.254.0.0/24``."""

    exhausted_message = "no network available"

    def __init__(
        self,
        network: str,
        *,
        release_delay: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        try:
            address, prefix = network.split("/")
            base = int(ipaddress.IPv4Address(address)) & 0xFFFFFFFC
            count = (1 << (32 - int(prefix))) // 4 if 0 <= int(prefix) <= 32 else -1
        except ValueError:
            count = -1
        if count < 0:
            raise ConfigError("Invalid address/netmask (require: 1.2.3.4/5)")
        super().__init__(
            (ipaddress.IPv4Address(base + 4 * i) for i in range(count)),
            release_delay=release_delay,
            clock=clock,
        )

    @staticmethod
    def subnet_of(address: str) -> ipaddress.IPv4Address:
        """The /30 that contains ``address``; WardenError for text that is no address."""
        try:
            return ipaddress.IPv4Address(int(ipaddress.IPv4Address(address)) & 0xFFFFFFFC)
        except ValueError:
            raise WardenError(f"Could not acquire network: {address}") from None


class PortPool(Pool[int]):
    """Host ports ``start ... start + size - 1`` for net_in, no release delay."""

    exhausted_message = "no port available"

    def __init__(self, start: int, size: int, *, clock: Callable[[], float] = time.monotonic):
        if size < 1000:
            raise ConfigError(
                f"Insufficient non-ephemeral ports available (expected >= 1000, got: {size})"
            )
        super().__init__(range(start, start + size), clock=clock)


class UidPool(Pool[int]):
    """Container uids ``start ... start + size - 1``, none of which may be in /etc/passwd."""

    exhausted_message = "no uid available"

    def __init__(
        self,
        start: int,
        size: int,
        *,
        passwd: str = "/etc/passwd",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        uids = range(start, start + size)
        if any(uid in uids for uid in _passwd_uids(passwd)):
            raise ConfigError("UID in user pool overlaps with user in /etc/passwd")
        super().__init__(uids, clock=clock)


def _passwd_uids(path: str) -> list[int]:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return []
    uids = []
    for line in lines:
        parts = line.split(":")
        if len(parts) > 2 and parts[2].isdigit():
            uids.append(int(parts[2]))
    return uids
