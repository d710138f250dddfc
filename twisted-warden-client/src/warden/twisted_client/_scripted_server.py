# -*- test-case-name: tests.test_connection -*-
"""The scripted server itself: a Twisted protocol that hands each request to a handler."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, cast

from twisted.internet.defer import CancelledError, Deferred, gatherResults, succeed
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

from warden.protocol import (
    ErrorResponse,
    MessageDecoder,
    ProtocolError,
    Request,
    Response,
    response_to_wire,
)

from ._scripted_warden import scripted_warden
from ._types import Clock, ListeningPort, Transport, UnixReactor

__all__ = ["Handler", "ScriptedServer", "ServerConnection"]

#: Called with the connection and each request it receives; a Deferred it
#: returns holds back the connection's next request until it fires.
Handler = Callable[["ServerConnection", Request], "Deferred[Any] | None"]


class ServerConnection(Protocol):
    """The server side of one client connection.

    Like the warden server, it handles one request at a time, in order: a
    handler that returns a Deferred holds back the next request until it fires.
    """

    def __init__(self, server: ScriptedServer) -> None:
        self.server = server
        self.decoder = MessageDecoder("request")
        self.received: list[Request] = []
        self._queue: deque[Request] = deque()
        self._busy = False
        self._delayed: list[Deferred[Any]] = []
        self._when_lost: list[Deferred[None]] = []
        self.closing = False
        self.lost = False

    @property
    def clock(self) -> Clock:
        """The reactor the server listens on."""
        assert self.server.reactor is not None
        return self.server.reactor

    def _transport(self) -> Transport | None:
        return cast(Transport | None, self.transport)

    def connectionMade(self) -> None:
        self.server.connections.append(self)

    def dataReceived(self, data: bytes) -> None:
        self.decoder.feed(data)
        try:
            for request in self.decoder:
                self.received.append(request)
                self.server.received.append(request)
                self._queue.append(request)
        except ProtocolError as error:
            self.respond(ErrorResponse(message=str(error)))
            self.close()
            return
        self._process()

    def _process(self) -> None:
        while self._queue and not self._busy and not self.closing:
            request = self._queue.popleft()
            result = self.server.handler(self, request)
            if result is not None:
                self._busy = True
                result.addBoth(self._handled)
                return

    def _handled(self, result: object) -> None:
        self._busy = False
        if isinstance(result, Failure) and not result.check(CancelledError):  # type: ignore[no-untyped-call]
            self.error(f"scripted server: handler failed: {result.getErrorMessage()}")
        self._process()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.lost = self.closing = True
        delayed, self._delayed = self._delayed, []
        for deferred in delayed:
            deferred.cancel()
        if self in self.server.connections:
            self.server.connections.remove(self)
        waiting, self._when_lost = self._when_lost, []
        for deferred in waiting:
            deferred.callback(None)

    def when_lost(self) -> Deferred[None]:
        """Fires once the connection is closed."""
        if self.lost:
            return succeed(None)
        deferred: Deferred[None] = Deferred()
        self._when_lost.append(deferred)
        return deferred

    # -- what handlers do ---------------------------------------------------

    def respond(self, response: Response) -> None:
        """Send one response frame."""
        self.write(response_to_wire(response))

    def error(
        self, message: str, data: str | None = None, backtrace: list[str] | None = None
    ) -> None:
        """Send an ErrorResponse."""
        self.respond(ErrorResponse(message=message, data=data, backtrace=backtrace or []))

    def write(self, data: bytes) -> None:
        """Send raw bytes (a frame, part of one, or garbage); nothing once closing."""
        transport = self._transport()
        if not self.closing and transport is not None:
            transport.write(data)

    def later(self, seconds: float, action: Callable[..., Any], *args: Any) -> Deferred[Any]:
        """Run ``action(*args)`` after a delay, unless the connection is gone by then.

        Return the result's Deferred, for a handler to return.
        """
        if self.closing:
            return succeed(None)
        deferred: Deferred[Any] = deferLater(cast(Any, self.clock), seconds, action, *args)
        self._delayed.append(deferred)
        return deferred.addErrback(_ignore_cancel)

    def write_bytewise(self, data: bytes, interval: float = 0.001) -> Deferred[Any]:
        """Send ``data`` one byte per write, ``interval`` seconds apart."""
        if not data:
            return succeed(None)
        self.write(data[:1])
        return self.later(interval, self.write_bytewise, data[1:], interval)

    def close(self) -> None:
        """Close after what was written has been sent; later requests get no answer."""
        transport = self._transport()
        if transport is not None and not self.closing:
            self.closing = True
            transport.loseConnection()


def _ignore_cancel(failure: Failure) -> None:
    failure.trap(CancelledError)  # type: ignore[no-untyped-call]


class _ConnectionFactory(Factory):
    def __init__(self, server: ScriptedServer) -> None:
        self.server = server

    def buildProtocol(self, addr: Any) -> ServerConnection:
        return ServerConnection(self.server)


class ScriptedServer:
    """A warden server whose answers come from ``handler``.

    ``received`` lists every request of every connection in arrival order;
    ``connections`` the connections now open.
    """

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler: Handler = scripted_warden if handler is None else handler
        self.received: list[Request] = []
        self.connections: list[ServerConnection] = []
        self.reactor: UnixReactor | None = None
        self.port: ListeningPort | None = None

    def listen(self, reactor: Any, path: str) -> ListeningPort:
        """Listen on the unix socket ``path`` of ``reactor`` (IReactorUNIX, IReactorTime)."""
        self.reactor = cast(UnixReactor, reactor)
        self.port = self.reactor.listenUNIX(path, _ConnectionFactory(self))
        return self.port

    def drop_connections(self) -> None:
        """Abort every open connection."""
        for connection in list(self.connections):
            transport = connection._transport()
            if transport is not None:
                transport.abortConnection()

    def stop(self) -> Deferred[None]:
        """Stop listening and abort the connections; fires when all are closed."""
        waiting = [connection.when_lost() for connection in self.connections]
        self.drop_connections()
        port, self.port = self.port, None
        stopped = port.stopListening() if port is not None else None
        if stopped is not None:
            waiting.append(stopped)
        return gatherResults(waiting).addCallback(lambda _: None)
