# -*- test-case-name: tests.test_protocol -*-
"""One client connection: frames in, one request at a time, responses out (C1).

Requests are queued in arrival order and served one after the other, so
pipelined requests get their responses in order. A malformed frame or message
is logged and answered, in its place in the queue, with an ErrorResponse that
says what was wrong; then this connection (and only it) is closed.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from google.protobuf.message import Message
from twisted.internet import defer, protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from warden.protocol import (
    ErrorResponse,
    LinkRequest,
    MessageDecoder,
    ProtocolError,
    RunRequest,
    StreamRequest,
    response_to_wire,
)

if TYPE_CHECKING:
    from ._server import Server
    from .container.base import Container

__all__ = ["WardenConnection", "WardenFactory"]

#: Requests that a drain interrupts (their jobs keep running and can be linked
#: again after the restart); every other request is finished first (C6).
_CLOSED_ON_DRAIN = (LinkRequest, StreamRequest, RunRequest)


class WardenConnection(protocol.Protocol):
    """A client connection; also the ``Peer`` that containers know."""

    _log = Logger(namespace="warden.server.connection")

    def __init__(self, server: Server) -> None:
        self.server = server
        self.decoder = MessageDecoder("request")
        self.queue: deque[Message | ProtocolError] = deque()
        self.current: Message | None = None
        self.busy = False
        self.closing = False
        self.draining = False
        self.lost = False
        self.broken = False
        #: Containers this connection created or named (for their grace timers).
        self.containers: set[Container] = set()
        self._lost_waiters: list[defer.Deferred[None]] = []

    def __repr__(self) -> str:
        return f"<WardenConnection {id(self):#x}>"

    # -- Twisted --

    def connectionMade(self) -> None:
        self.server.connection_made(self)

    def dataReceived(self, data: bytes) -> None:
        if self.broken or self.closing:
            return
        self.decoder.feed(data)
        try:
            for request in self.decoder:
                self.queue.append(request)
        except ProtocolError as error:
            # Answer it in its turn, after the requests before it, then close.
            self.broken = True
            self.queue.append(error)
        self._next()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.lost = True
        self.queue.clear()
        waiters, self._lost_waiters = self._lost_waiters, []
        for waiter in waiters:
            waiter.callback(None)
        self.server.connection_lost(self)

    # -- Peer --

    def send(self, message: Message) -> None:
        """Write one response frame (nothing once the connection is gone)."""
        transport: Any = self.transport
        if not self.lost and transport is not None:
            transport.write(response_to_wire(message))

    def when_lost(self) -> defer.Deferred[None]:
        """Fires when the connection closes; cancelling it forgets it."""
        if self.lost:
            return defer.succeed(None)

        def forget(waiter: defer.Deferred[None]) -> None:
            if waiter in self._lost_waiters:
                self._lost_waiters.remove(waiter)

        waiter: defer.Deferred[None] = defer.Deferred(forget)
        self._lost_waiters.append(waiter)
        return waiter

    # -- requests, one at a time --

    def _next(self) -> None:
        if self.busy or self.closing or self.lost or not self.queue:
            return
        item = self.queue.popleft()
        if isinstance(item, ProtocolError):
            self._log.warn("bad frame from {peer}, closing: {error}", peer=self, error=item)
            self.send(ErrorResponse(message=str(item)))
            self.close()
            return
        self.busy = True
        self.current = item
        done = defer.ensureDeferred(self.server.handle(item, self))
        done.addBoth(self._finished)

    def _finished(self, result: Any) -> None:
        if isinstance(result, Failure):
            self._log.failure("request failed unexpectedly, closing", failure=result)
            self.close()
        self.busy = False
        self.current = None
        if self.draining:
            self.close()
            return
        # The next request starts on the next reactor turn (as the original's
        # next_tick), which also keeps long pipelines off the stack.
        self.server.reactor.callLater(0, self._next)

    def close(self) -> None:
        """Close after pending writes; queued requests are dropped."""
        self.closing = True
        self.queue.clear()
        transport: Any = self.transport
        if transport is not None:
            transport.loseConnection()

    def drain(self) -> None:
        """Server drain: close now if idle or waiting on a job, else after this request."""
        self.draining = True
        if not self.busy or isinstance(self.current, _CLOSED_ON_DRAIN):
            self.close()


class WardenFactory(protocol.Factory):
    """Makes a ``WardenConnection`` per accepted client."""

    noisy = False

    def __init__(self, server: Server) -> None:
        self.server = server

    def buildProtocol(self, addr: Any) -> WardenConnection:
        return WardenConnection(self.server)
