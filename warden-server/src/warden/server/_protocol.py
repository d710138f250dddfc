# -*- test-case-name: tests.test_connections,tests.unit.test_unit_connection -*-
"""One client connection: frames in, one request at a time, responses out.

Requests are queued in arrival order and served one after the other, so
pipelined requests get their responses in order. A malformed frame or message
is logged and answered, in its place in the queue, with an ErrorResponse that
says what was wrong; then this connection (and only it) is closed. A frame
longer than ``server.request_size_limit`` is refused from its length line,
before its bytes are kept. While requests wait behind a busy one, reading
stops once they hold more than that limit, so a client that pipelines
without reading answers cannot make the server hold more than about twice it
(behind a StreamIn chunk waiting for tar's pipe, more than ``STREAM_IN_WINDOW``).

Ping, List, Echo and Capacity are answered on the spot (no coroutine, no Deferred, no
reactor turn in between; a lone Ping frame is recognised by its bytes), and a
response is sent at once when nothing is waiting to be written before it,
instead of on the reactor's next round: per Ping, one epoll_wait, one recvfrom
and one sendto (the transport reads with ``recv``: see ``read_plainly``).
"""

from __future__ import annotations

import socket
import time
import weakref
from collections import deque
from functools import partial
from typing import Any, Protocol

from google.protobuf.message import Message
from twisted.internet import defer, protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from warden.protocol import (
    ErrorResponse,
    LinkRequest,
    MessageDecoder,
    PingRequest,
    PingResponse,
    ProtocolError,
    RunRequest,
    StreamInRequest,
    StreamRequest,
    request_to_wire,
    response_to_wire,
)
from warden.protocol.twisted_send import read_plainly, send_now, send_parts_now

from ._config import Config
from ._metrics import OK, Metrics
from ._output_response import OutputResponse
from ._turns import budget_for
from .container.base import Container

__all__ = ["ConnectionOwner", "WardenConnection", "WardenFactory"]

#: The one request and the one response that never change.
_PING_REQUEST_WIRE = request_to_wire(PingRequest())
_PING_WIRE = response_to_wire(PingResponse())

#: Requests that a drain interrupts (their jobs keep running and can be linked
#: again after the restart); every other request is finished first.
_CLOSED_ON_DRAIN = (LinkRequest, StreamRequest, RunRequest)

#: While a StreamIn chunk waits for tar's pipe, reading stops once this much
#: more waits behind it (a client's window of chunks), not the request limit.
STREAM_IN_WINDOW = 512 * 1024


class ConnectionOwner(Protocol):
    """What a connection needs of the server (``_server.Server`` is one).

    Declared here so that this module does not import the server, which
    imports this module to listen.
    """

    @property
    def reactor(self) -> Any:
        """The reactor the connection schedules its next request on."""

    @property
    def config(self) -> Config:
        """The server's configuration (for ``server.request_size_limit``)."""

    def connection_made(self, connection: WardenConnection) -> None:
        """A client connected."""

    def connection_lost(self, connection: WardenConnection) -> None:
        """A client went away."""

    @property
    def metrics(self) -> Metrics:
        """Where served requests are counted."""

    def answer_now(self, request: Message) -> Message | None:
        """The response to a request answered without waiting, else None."""

    async def handle(self, request: Message, connection: WardenConnection) -> None:
        """Serve one request and send its response."""


#: Bytes a connection's socket may hold for its client, and the most one
#: write turn hands it: a Stream of megabytes goes out in a few large sends
#: instead of a reactor turn (and a wake-up of each side) per 128 KiB
#: (Twisted's ``SEND_LIMIT``) within the default 208 KiB socket buffer.
#: The buffer is a bound, not an allocation: idle connections cost nothing.
SEND_WINDOW = 2 * 1024 * 1024
_SO_SNDBUFFORCE = 32  # Linux; not in Python's socket module


def widen_send_window(transport: Any) -> None:
    """Let a socket transport send up to ``SEND_WINDOW`` at once (else nothing)."""
    sock: Any = getattr(transport, "socket", None)
    if sock is None:
        return
    try:
        # As root past net.core.wmem_max (212992 by default); else within it.
        sock.setsockopt(socket.SOL_SOCKET, _SO_SNDBUFFORCE, SEND_WINDOW)
    except OSError:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_WINDOW)
        except OSError:
            return  # the default window still works, only with more turns
    transport.SEND_LIMIT = SEND_WINDOW


class WardenConnection(protocol.Protocol):
    """A client connection; also the ``Peer`` that containers know."""

    _log = Logger(namespace="warden.server.connection")

    def __init__(self, server: ConnectionOwner) -> None:
        self.server = server
        self.size_limit = server.config.server.request_size_limit
        self.decoder = MessageDecoder("request", max_frame_size=self.size_limit)
        self.queue: deque[Message | ProtocolError] = deque()
        self.current: Message | None = None
        self.busy = False
        self.closing = False
        self.draining = False
        self.lost = False
        self.broken = False
        #: Encoded size of the requests in the queue, and whether reading is
        #: paused because of it.
        self.queued_bytes = 0
        self.paused = False
        #: Containers this connection created or named (for their grace timers);
        #: weak, so that one long-lived connection does not keep every
        #: container it ever named alive once destroyed.
        self.containers: weakref.WeakSet[Container] = weakref.WeakSet()
        self._lost_waiters: list[defer.Deferred[None]] = []

    def __repr__(self) -> str:
        return f"<WardenConnection {id(self):#x}>"

    # -- Twisted --

    def connectionMade(self) -> None:
        read_plainly(self.transport)
        widen_send_window(self.transport)
        self.server.connection_made(self)

    def dataReceived(self, data: bytes) -> None:
        if self.broken or self.closing:
            return
        if data == _PING_REQUEST_WIRE and not (self.busy or self.queue or self.decoder.buffered):
            # A lone Ping (what health checks send, over and over): its bytes
            # are known, so is the answer; nothing to decode or queue.
            started = time.perf_counter()
            self._write(_PING_WIRE)
            self.server.metrics.request_served(PingRequest, OK, started)
            return
        self.decoder.feed(data)
        try:
            for request in self.decoder:
                self.queue.append(request)
                if self.busy:
                    self.queued_bytes += request.ByteSize()
        except ProtocolError as error:
            # Answer it in its turn, after the requests before it, then close.
            self.broken = True
            self.queue.append(error)
        self._next()
        limit = self.size_limit
        if isinstance(self.current, StreamInRequest):
            limit = min(limit, STREAM_IN_WINDOW)
        if self.queued_bytes > limit and not self.paused and not self.lost:
            transport: Any = self.transport
            if transport is not None:
                self.paused = True
                transport.pauseProducing()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.lost = True
        self.queue.clear()
        waiters, self._lost_waiters = self._lost_waiters, []
        for waiter in waiters:
            waiter.callback(None)
        self.server.connection_lost(self)

    # -- Peer --

    def send(self, message: Message | OutputResponse) -> None:
        """Write one response frame (nothing once the connection is gone)."""
        if isinstance(message, OutputResponse):
            self._write_parts(message.wire_parts())
            return
        wire = _PING_WIRE if type(message) is PingResponse else response_to_wire(message)
        self._write(wire)

    def _write_parts(self, parts: list[bytes]) -> None:
        """``_write`` of the parts' join, without joining them: the socket
        gathers what it takes now (``sendmsg``); the rest is queued."""
        transport: Any = self.transport
        if self.lost or transport is None:
            return
        sent = send_parts_now(transport, parts)
        for index, part in enumerate(parts):
            if sent < len(part):
                rest = [part[sent:] if sent else part, *parts[index + 1 :]]
                transport.writeSequence([each for each in rest if each])
                return
            sent -= len(part)

    def send_frame(self, frame: bytes) -> None:
        """Write a response frame already encoded (nothing once the connection is gone)."""
        self._write(frame)

    def _write(self, data: bytes) -> None:
        transport: Any = self.transport
        if self.lost or transport is None:
            return
        sent = send_now(transport, data)
        if sent < len(data):
            transport.write(data[sent:] if sent else data)

    def register_producer(self, producer: Any) -> None:
        """Pause ``producer`` while the send buffer is full (see ``Peer``)."""
        transport: Any = self.transport
        if transport is not None and not self.lost:
            transport.registerProducer(producer, True)

    def unregister_producer(self) -> None:
        """Forget the producer (see ``Peer``)."""
        transport: Any = self.transport
        if transport is not None and not self.lost:
            transport.unregisterProducer()

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
        while not (self.busy or self.closing or self.lost) and self.queue:
            item = self.queue.popleft()
            if not self.queue:
                self.queued_bytes = 0
                self._resume()
            if isinstance(item, ProtocolError):
                self._log.warn("bad frame from {peer}, closing: {error}", peer=self, error=item)
                self.send(ErrorResponse(message=str(item)))
                self.close()
                return
            response = self.server.answer_now(item)
            if response is not None:
                self.send(response)
                continue
            self.busy = True
            self.current = item
            # Busy from here: the next request of this connection waits for
            # this one whether it starts now or on a later turn.
            budget_for(self.server.reactor).start(partial(self._start, item))
            return

    def _start(self, item: Message) -> None:
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

    def _resume(self) -> None:
        if self.paused:
            self.paused = False
            transport: Any = self.transport
            if transport is not None and not self.lost:
                transport.resumeProducing()

    def close(self) -> None:
        """Close after pending writes; queued requests are dropped."""
        self.closing = True
        self.queue.clear()
        self.queued_bytes = 0
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

    def __init__(self, server: ConnectionOwner) -> None:
        self.server = server

    def buildProtocol(self, addr: Any) -> WardenConnection:
        return WardenConnection(self.server)
