# -*- test-case-name: tests.test_reconnecting -*-
"""A client that keeps reconnecting, for agents that must outlive server restarts."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, cast

from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from warden.protocol import DEFAULT_MAX_FRAME_SIZE, DEFAULT_SOCKET_PATH
from warden.protocol.errors import ClientConnectionError
from warden.protocol.v1 import is_v1_command

from ._connect import ConnectionFactory, endpoint_for
from ._connection import ChunkCallback, WardenConnection
from ._methods import DeferredRequestMethods
from ._types import Clock, DelayedCall

__all__ = ["ReconnectingClient"]


class ReconnectingClient(DeferredRequestMethods):
    """A connection to warden that is made again, with exponential backoff, when lost.

    ``start()`` begins connecting. After a failed attempt or a lost
    connection the next attempt waits ``initial_delay`` seconds, then
    ``factor`` times longer after each further failure, at most ``max_delay``,
    plus up to ``jitter`` of that at random (so that many agents do not retry in
    step). Requests wait for a connection: add a timeout with
    ``Deferred.addTimeout``, or set ``fail_after_failures`` to fail them after
    that many failed attempts. A request already sent when the connection
    drops fails with ClientConnectionError and is not sent again: requests are
    not idempotent.
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
        jitter: float = 0.1,
        fail_after_failures: int | None = None,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    ) -> None:
        self._where = where
        self._endpoint = endpoint_for(reactor, where)
        self._factory = ConnectionFactory(max_frame_size)
        self._clock = cast(Clock, reactor)
        self.initial_delay, self.max_delay, self.factor, self.jitter = (
            initial_delay,
            max_delay,
            factor,
            jitter,
        )
        self._fail_after_failures = fail_after_failures
        self._running = False
        self._failures = 0  # failed attempts since the last connection
        self._attempt: Deferred[Any] | None = None
        self._retry: DelayedCall | None = None
        self._connection: WardenConnection | None = None
        self._waiting: list[tuple[Deferred[WardenConnection], int]] = []
        self._v1_mode = False
        self._on_connected: list[Callable[[WardenConnection], object]] = []
        self._on_disconnected: list[Callable[[Failure], object]] = []

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> None:
        """Begin connecting (and reconnecting); nothing if already started."""
        if not self._running:
            self._running = True
            self._connect()

    def close(self) -> Deferred[None]:
        """Stop reconnecting and close the connection; fires once closed.

        Requests waiting for a connection fail with ClientConnectionError.
        """
        self._running = False
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        if self._attempt is not None:
            self._attempt.cancel()
        waiting, self._waiting = self._waiting, []
        for deferred, _ in waiting:
            deferred.errback(ClientConnectionError("the reconnecting client was closed"))
        connection, self._connection = self._connection, None
        return connection.disconnect() if connection is not None else succeed(None)

    def retry_delay(self, failures: int) -> float:
        """Seconds to wait before the next attempt after ``failures`` failures (without jitter)."""
        return float(min(self.max_delay, self.initial_delay * self.factor ** max(0, failures - 1)))

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
        if self._connection is not None and self._connection.connected:
            return succeed(self._connection)
        if not self._running:
            return fail(ClientConnectionError("the reconnecting client is not started"))
        deferred: Deferred[WardenConnection] = Deferred()
        self._waiting.append((deferred, self._failures))
        return deferred

    # -- connecting ---------------------------------------------------------

    def _connect(self) -> None:
        self._retry = None
        attempt: Deferred[Any] = self._endpoint.connect(self._factory)
        self._attempt = attempt
        attempt.addCallbacks(self._connected, self._failed)

    def _connected(self, protocol: Any) -> None:
        self._attempt = None
        connection = cast(WardenConnection, protocol)
        if not self._running:  # closed while connecting
            connection.disconnect()
            return
        self._failures = 0
        connection.v1_mode = self._v1_mode
        self._connection = connection
        connection.on_disconnected(lambda reason: self._lost(connection, reason))
        for observer in list(self._on_connected):
            self._notify(observer, connection)
        waiting, self._waiting = self._waiting, []
        for deferred, _ in waiting:
            deferred.callback(connection)

    def _failed(self, failure: Failure) -> None:
        self._attempt = None
        if not self._running:
            return
        self._failures += 1
        self._log.info(
            "cannot connect to {where} ({failures} failures): {error}",
            where=self._where,
            failures=self._failures,
            error=failure.getErrorMessage(),
        )
        self._schedule()
        limit = self._fail_after_failures
        if limit is None:
            return
        expired = [(d, f) for d, f in self._waiting if self._failures - f >= limit]
        self._waiting = [(d, f) for d, f in self._waiting if self._failures - f < limit]
        message = f"cannot connect to {self._where}: {failure.getErrorMessage()}"
        for deferred, _ in expired:
            deferred.errback(ClientConnectionError(message))

    def _lost(self, connection: WardenConnection, reason: Failure) -> None:
        if self._connection is connection:
            self._connection = None
            self._schedule()
        for observer in list(self._on_disconnected):
            self._notify(observer, reason)

    def _schedule(self) -> None:
        if not self._running:
            return
        delay = self.retry_delay(self._failures) * (1 + self.jitter * random.random())
        self._retry = self._clock.callLater(delay, self._connect)

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

    def stream_in(self, handle: str, dst_path: str, fileobj: Any, **options: Any) -> Deferred[Any]:
        """``WardenConnection.stream_in`` on the current or next connection."""
        return self.when_connected().addCallback(
            lambda connection: connection.stream_in(handle, dst_path, fileobj, **options)
        )

    def stream_out(
        self, handle: str, src_path: str, on_chunk: Callable[[bytes], object]
    ) -> Deferred[Any]:
        """``WardenConnection.stream_out`` on the current or next connection."""
        return self.when_connected().addCallback(
            lambda connection: connection.stream_out(handle, src_path, on_chunk)
        )

    def stream(self, request: Any, on_chunk: ChunkCallback) -> Deferred[Any]:
        """``WardenConnection.stream`` on the current or next connection."""
        if is_v1_command(request):
            self._v1_mode = True

        def send(connection: WardenConnection) -> Deferred[Any]:
            connection.v1_mode = connection.v1_mode or self._v1_mode
            return connection.stream(request, on_chunk)

        return self.when_connected().addCallback(send)
