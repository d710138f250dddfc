# -*- test-case-name: tests.test_connection -*-
"""A scripted warden server for testing clients and agents over a real unix socket.

``ScriptedServer`` is a real Twisted server speaking warden frames. Each
decoded request is recorded in ``server.received`` and handed to a handler,
which answers through the ``ServerConnection`` it is given: respond, answer
later, write bytes one at a time, cut the connection in the middle of a frame.
``scripted_warden`` is a ready handler that answers every request type with
a canned response and has scripted misbehaviours (see its docstring).

    >>> from twisted.internet import reactor                  # doctest: +SKIP
    >>> server = ScriptedServer(scripted_warden)
    >>> port = server.listen(reactor, "/tmp/test-warden.sock")
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, cast

from twisted.internet.defer import CancelledError, Deferred, gatherResults, succeed
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

from warden.protocol import (
    CopyInRequest,
    CopyInResponse,
    CopyOutRequest,
    CopyOutResponse,
    CreateRequest,
    CreateResponse,
    DestroyRequest,
    DestroyResponse,
    EchoRequest,
    EchoResponse,
    ErrorResponse,
    InfoRequest,
    InfoResponse,
    LimitBandwidthRequest,
    LimitBandwidthResponse,
    LimitCpuRequest,
    LimitCpuResponse,
    LimitDiskRequest,
    LimitDiskResponse,
    LimitMemoryRequest,
    LimitMemoryResponse,
    LinkRequest,
    LinkResponse,
    ListRequest,
    ListResponse,
    MessageDecoder,
    NetInRequest,
    NetInResponse,
    NetOutRequest,
    NetOutResponse,
    PingRequest,
    PingResponse,
    ProtocolError,
    Request,
    Response,
    RunRequest,
    RunResponse,
    SpawnRequest,
    SpawnResponse,
    StopRequest,
    StopResponse,
    StreamRequest,
    StreamResponse,
    response_to_wire,
)

from ._types import Clock, ListeningPort, Transport, UnixReactor

__all__ = [
    "Handler",
    "ScriptedServer",
    "ServerConnection",
    "output_pattern",
    "scripted_warden",
]

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
        self.handler: Handler = handler or scripted_warden
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


def output_pattern(size: int) -> bytes:
    """``size`` bytes of a recognisable pattern, for large outputs."""
    block = bytes(range(256))
    return (block * (size // 256 + 1))[:size]


def _echo(conn: ServerConnection, request: EchoRequest) -> Deferred[Any] | None:
    """Echo, unless the message names a misbehaviour."""
    command, _, rest = request.message.partition(" ")
    frame = response_to_wire(EchoResponse(message=rest or request.message))
    if command == "error":
        conn.error(f"echo failed: {rest}", data="some data", backtrace=["frame 1", "frame 2"])
    elif command == "close":
        conn.close()
    elif command == "close-mid-frame":
        conn.write(frame[: len(frame) // 2])
        conn.close()
    elif command == "slow":
        seconds, _, message = rest.partition(" ")
        return conn.later(float(seconds), conn.respond, EchoResponse(message=message))
    elif command == "bytewise":
        return conn.write_bytewise(frame)
    elif command == "garbage":
        conn.write(b"not a length\r\n")
    elif command == "wrong-type":
        conn.respond(PingResponse())
    else:
        conn.respond(EchoResponse(message=request.message))
    return None


def _stream(conn: ServerConnection, request: StreamRequest) -> Deferred[Any] | None:
    """``job_id`` chunks, then the exit status ``job_id % 256``.

    Handles: ``cut`` closes after the chunks without the last frame, ``cut-mid-frame``
    also leaves half a frame, ``error`` answers an ErrorResponse after the chunks,
    ``slow`` sends a chunk every 10 ms.
    """
    interval = 0.01 if request.handle == "slow" else 0.0
    frames = [
        response_to_wire(
            StreamResponse(name=("stdout", "stderr")[i % 2], data=b"chunk %d\n" % i)
        )
        for i in range(request.job_id)
    ]
    if request.handle == "cut":
        last = b""
    elif request.handle == "cut-mid-frame":
        whole = response_to_wire(StreamResponse(name="stdout", data=b"never complete"))
        last = whole[: len(whole) // 2]
    elif request.handle == "error":
        last = response_to_wire(ErrorResponse(message="stream failed"))
    else:
        final = StreamResponse(exit_status=request.job_id % 256, info=InfoResponse(state="active"))
        last = response_to_wire(final)

    def send(index: int) -> Deferred[Any] | None:
        if index < len(frames):
            conn.write(frames[index])
            if interval:
                return conn.later(interval, send, index + 1)
            return send(index + 1)
        conn.write(last)
        if request.handle.startswith("cut"):
            conn.close()
        return None

    return send(0)


def _canned(request: Request) -> Response:
    """A response for each other request type, echoing its fields where it can."""
    if isinstance(request, CreateRequest):
        return CreateResponse(handle=request.handle if request.HasField("handle") else "h-new")
    if isinstance(request, StopRequest):
        return StopResponse()
    if isinstance(request, DestroyRequest):
        return DestroyResponse()
    if isinstance(request, InfoRequest):
        return InfoResponse(
            state="active",
            events=["out of memory"],
            container_path=f"/depot/{request.handle}",
            memory_stat=InfoResponse.MemoryStat(cache=1, rss=2),
            job_ids=[1, 2],
        )
    if isinstance(request, SpawnRequest):
        return SpawnResponse(job_id=len(request.script))
    if isinstance(request, LinkRequest):
        # job_id is the size of the output: a 10 MiB job output is job_id=10485760.
        return LinkResponse(exit_status=0, stdout=output_pattern(request.job_id), stderr=b"err")
    if isinstance(request, RunRequest):
        return RunResponse(exit_status=3, stdout=request.script.encode(), stderr=b"\xff\x00")
    if isinstance(request, NetInRequest):
        return NetInResponse(host_port=61001, container_port=request.container_port or 61001)
    if isinstance(request, NetOutRequest):
        return NetOutResponse()
    if isinstance(request, CopyInRequest):
        return CopyInResponse()
    if isinstance(request, CopyOutRequest):
        return CopyOutResponse()
    if isinstance(request, LimitMemoryRequest):
        return LimitMemoryResponse(limit_in_bytes=request.limit_in_bytes or 1024)
    if isinstance(request, LimitDiskRequest):
        return LimitDiskResponse(byte=request.byte or 2048, block=7)
    if isinstance(request, LimitBandwidthRequest):
        return LimitBandwidthResponse(rate=request.rate, burst=request.burst)
    if isinstance(request, LimitCpuRequest):
        return LimitCpuResponse(limit_in_shares=request.limit_in_shares or 100)
    if isinstance(request, PingRequest):
        return PingResponse()
    if isinstance(request, ListRequest):
        return ListResponse(handles=["h1", "h2"])
    return ErrorResponse(message=f"scripted server: no answer for {type(request).__name__}")


def scripted_warden(conn: ServerConnection, request: Request) -> Deferred[Any] | None:
    """Answer like a warden server, with misbehaviours on demand.

    Echo messages: ``error X`` (ErrorResponse with data and backtrace), ``close``
    (close without answer), ``close-mid-frame``, ``slow SECONDS MESSAGE``,
    ``bytewise MESSAGE`` (the answer one byte per write), ``garbage`` (a bad
    length line), ``wrong-type`` (a PingResponse); anything else is echoed.
    Stream: see ``_stream``. Link answers ``job_id`` bytes of ``output_pattern``.
    A handle starting with ``missing`` or ``no-such`` gets the ErrorResponse
    ``unknown handle``.
    """
    if isinstance(request, EchoRequest):
        return _echo(conn, request)
    if str(getattr(request, "handle", "")).startswith(("missing", "no-such")):
        conn.error("unknown handle")
    elif isinstance(request, StreamRequest):
        return _stream(conn, request)
    else:
        conn.respond(_canned(request))
    return None
