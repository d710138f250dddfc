"""Structural types for the Twisted objects this package calls.

Twisted declares its interfaces with zope.interface, whose methods have no
``self``; without a mypy plugin, calling them through an interface type does
not type-check. These protocols state exactly what the package uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory

__all__ = ["Clock", "DelayedCall", "Endpoint", "ListeningPort", "Transport", "UnixReactor"]


class DelayedCall(Protocol):
    """What ``callLater`` returns."""

    def active(self) -> bool: ...
    def cancel(self) -> None: ...


class Clock(Protocol):
    """A reactor's IReactorTime side (``twisted.internet.task.Clock`` in tests)."""

    def callLater(
        self, delay: float, callable: Callable[..., Any], *args: Any, **kw: Any
    ) -> DelayedCall: ...
    def seconds(self) -> float: ...


class ListeningPort(Protocol):
    """What ``listenUNIX`` returns."""

    def stopListening(self) -> Deferred[None] | None: ...


class UnixReactor(Clock, Protocol):
    """A reactor with unix sockets and time (every real reactor)."""

    def listenUNIX(self, address: str, factory: Factory, backlog: int = 50) -> ListeningPort: ...


class Transport(Protocol):
    """The transport of a stream connection."""

    def write(self, data: bytes) -> None: ...
    def loseConnection(self) -> None: ...
    def abortConnection(self) -> None: ...


class Endpoint(Protocol):
    """An IStreamClientEndpoint."""

    def connect(self, factory: Factory, /) -> Deferred[Any]: ...
