# -*- test-case-name: tests.test_reconnecting -*-
"""A client that keeps reconnecting, for agents that must outlive server restarts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from twisted.application.internet import ClientService, backoffPolicy
from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from warden.client import DEFAULT_SOCKET_PATH, ClientConnectionError, is_v1_command
from warden.protocol import DEFAULT_MAX_FRAME_SIZE

from ._connect import ConnectionFactory, endpoint_for
from ._connection import ChunkCallback, WardenConnection
from ._methods import DeferredRequestMethods

__all__ = ["ReconnectingClient"]


class ReconnectingClient(DeferredRequestMethods):
    """A connection to warden that is made again, with exponential backoff, when lost.

    ``start()`` begins connecting; attempts after a failure or a lost
    connection wait ``initial_delay`` seconds, growing by ``factor`` up to
    ``max_delay`` (with jitter). Requests wait for a connection (add a timeout
    with ``Deferred.addTimeout``, or set ``fail_after_failures`` to fail them
    after that many failed attempts). A request already sent when the
    connection drops fails with ClientConnectionError and is not sent again:
    requests are not idempotent.
    """

    _log = Logger()

    def __init__(
        self,
        reactor: Any,
        where: str | Any = DEFAULT_SOCKET_PATH,
        *,
        initial_delay: float = 0.1,
        max_delay: float = 30.0,
        factor: float = 2.0,
        fail_after_failures: int | None = None,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    ) -> None:
        self._where = where
        self._fail_after_failures = fail_after_failures
        self._service = ClientService(
            cast(Any, endpoint_for(reactor, where)),
            cast(Any, ConnectionFactory(max_frame_size)),
            retryPolicy=backoffPolicy(initial_delay, max_delay, factor),
            clock=reactor,
            prepareConnection=self._prepare,
        )
        self._connection: WardenConnection | None = None
        self._v1_mode = False
        self._on_connected: list[Callable[[WardenConnection], object]] = []
        self._on_disconnected: list[Callable[[Failure], object]] = []

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> None:
        """Begin connecting (and reconnecting)."""
        self._service.startService()

    def close(self) -> Deferred[None]:
        """Stop reconnecting and close the connection; fires once closed.

        Requests waiting for a connection fail with ClientConnectionError.
        """
        return self._service.stopService()

    @property
    def connection(self) -> WardenConnection | None:
        """The current connection, or None between connections."""
        return self._connection

    @property
    def connected(self) -> bool:
        """True while a connection is up."""
        return self._connection is not None and bool(self._connection.connected)

    @property
    def v1_mode(self) -> bool:
        """True once a v1 command was sent; kept across reconnections."""
        return self._v1_mode

    def on_connected(self, observer: Callable[[WardenConnection], object]) -> None:
        """Call ``observer(connection)`` on every new connection."""
        self._on_connected.append(observer)

    def on_disconnected(self, observer: Callable[[Failure], object]) -> None:
        """Call ``observer(reason)`` every time a connection is lost."""
        self._on_disconnected.append(observer)

    def when_connected(self) -> Deferred[WardenConnection]:
        """The current connection, or the next one."""
        deferred = self._service.whenConnected(failAfterFailures=self._fail_after_failures)
        return cast(Deferred[WardenConnection], deferred.addErrback(self._not_connected))

    def _not_connected(self, failure: Failure) -> Failure:
        if isinstance(failure.value, CancelledError):
            message = "the reconnecting client was closed"
        else:
            message = f"cannot connect to {self._where}: {failure.getErrorMessage()}"
        raise ClientConnectionError(message) from failure.value

    def _prepare(self, protocol: Any) -> None:
        connection = cast(WardenConnection, protocol)
        connection.v1_mode = self._v1_mode
        self._connection = connection
        connection.on_disconnected(lambda reason: self._lost(connection, reason))
        for observer in list(self._on_connected):
            self._notify(observer, connection)

    def _lost(self, connection: WardenConnection, reason: Failure) -> None:
        if self._connection is connection:
            self._connection = None
        for observer in list(self._on_disconnected):
            self._notify(observer, reason)

    def _notify(self, observer: Callable[[Any], object], argument: Any) -> None:
        try:
            observer(argument)
        except Exception:
            self._log.failure("observer {observer!r} failed", observer=observer)

    # -- requests -----------------------------------------------------------

    def _call(self, request: Any) -> Deferred[Any]:
        if is_v1_command(request):
            self._v1_mode = True

        def send(connection: WardenConnection) -> Deferred[Any]:
            connection.v1_mode = connection.v1_mode or self._v1_mode
            return connection.call(request)

        return self.when_connected().addCallback(send)

    def _send(self, request: Any) -> Deferred[Any]:
        return self.when_connected().addCallback(lambda connection: connection._send(request))

    def stream(self, request: Any, on_chunk: ChunkCallback) -> Deferred[Any]:
        """``WardenConnection.stream`` on the current or next connection."""
        if is_v1_command(request):
            self._v1_mode = True

        def send(connection: WardenConnection) -> Deferred[Any]:
            connection.v1_mode = connection.v1_mode or self._v1_mode
            return connection.stream(request, on_chunk)

        return self.when_connected().addCallback(send)
