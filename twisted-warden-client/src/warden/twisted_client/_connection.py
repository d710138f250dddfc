# -*- test-case-name: tests.test_connection -*-
"""One connection to a warden server: requests pipelined, responses matched in order.

The server answers the requests of a connection one at a time and in order,
with no correlation id (as in the original protocol), so the connection keeps a FIFO of
pending requests and gives each decoded response to the oldest one. A stream
request stays at the head of the FIFO until its frame with ``exit_status``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Final, cast

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from warden.protocol import (
    DEFAULT_MAX_FRAME_SIZE,
    ErrorResponse,
    MessageDecoder,
    ProtocolError,
    Response,
    StreamInRequest,
    StreamInResponse,
    StreamOutRequest,
    StreamOutResponse,
    StreamRequest,
    StreamResponse,
    expected_response,
    is_request,
    request_to_wire,
)
from warden.protocol.errors import ClientConnectionError, ClientError, ServerError, server_error
from warden.protocol.twisted_send import read_plainly, send_now
from warden.protocol.v1 import is_v1_command, request_from_v1, response_to_v1

from ._methods import DeferredRequestMethods
from ._types import Transport

__all__ = ["ChunkCallback", "WardenConnection"]

#: Receives each frame of a stream before the last (a v1 triple in v1 mode).
ChunkCallback = Callable[[Any], object]

#: Bytes of a tar stream per StreamIn frame.
STREAM_CHUNK: Final = 64 * 1024
#: StreamIn frames sent ahead of their answers.
STREAM_WINDOW: Final = 4


#: Requests answered by many frames, or sent as many: not for ``call``.
_STREAMED: Final = frozenset((StreamRequest, StreamInRequest, StreamOutRequest))


def _ends_stream(response: Response) -> bool:
    """Whether a frame is the last of its stream (Stream's exit_status, StreamOut's done)."""
    if isinstance(response, StreamOutResponse):
        return response.done
    return cast(StreamResponse, response).HasField("exit_status")


def _ignore(failure: Failure) -> None:
    """Swallow a failure already reported through another Deferred."""


@dataclass(slots=True)
class _Pending:
    """A request waiting for its answer."""

    deferred: Deferred[Any]
    expected: type[Response]
    on_chunk: ChunkCallback | None = None  # set for a stream
    v1: bool = False
    chunk_error: Failure | None = field(default=None)
    #: The expected response's frame with nothing set (not for a stream).
    empty: bytes | None = None


class WardenConnection(Protocol, DeferredRequestMethods):
    """A connection to a warden server; make one with ``connect()``.

    ``connected`` is true from connectionMade until connectionLost.
    ``call(request)`` returns a Deferred that fires with the response or fails
    with ServerError (the connection stays usable) or ClientConnectionError
    (the connection is gone). Any number of calls may be in flight; they are
    answered in order. ``stream(request, on_chunk)`` delivers a job's output.
    """

    _log = Logger()

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self._decoder = MessageDecoder("response", max_frame_size)
        self._pending: deque[_Pending] = deque()
        self._v1_mode = False
        self.connected = False  # BaseProtocol's flag, kept up to date by us
        self._closed: list[Deferred[None]] = []
        self._on_connected: list[Callable[[WardenConnection], object]] = []
        self._on_disconnected: list[Callable[[Failure], object]] = []

    # -- state and observers ------------------------------------------------

    @property
    def v1_mode(self) -> bool:
        """True once a v1 command was sent: ``call`` then fires with v1 values."""
        return self._v1_mode

    @v1_mode.setter
    def v1_mode(self, value: bool) -> None:
        self._v1_mode = value

    @property
    def pending(self) -> int:
        """Requests sent and not yet answered."""
        return len(self._pending)

    def on_connected(self, observer: Callable[[WardenConnection], object]) -> None:
        """Call ``observer(connection)`` when connected (now, if already connected)."""
        self._on_connected.append(observer)
        if self.connected:
            self._notify(observer, self)

    def on_disconnected(self, observer: Callable[[Failure], object]) -> None:
        """Call ``observer(reason)`` when the connection is lost."""
        self._on_disconnected.append(observer)

    def _notify(self, observer: Callable[[Any], object], argument: Any) -> None:
        try:
            observer(argument)
        except Exception:
            self._log.failure("connection observer {observer!r} failed", observer=observer)

    def disconnect(self) -> Deferred[None]:
        """Close the connection; the Deferred fires once it is closed.

        Pending requests fail with ClientConnectionError.
        """
        if not self.connected:
            return defer.succeed(None)
        closed: Deferred[None] = Deferred()
        self._closed.append(closed)
        self._transport().loseConnection()
        return closed

    # -- Protocol -----------------------------------------------------------

    def _transport(self) -> Transport:
        return cast(Transport, self.transport)

    def connectionMade(self) -> None:
        read_plainly(self.transport)
        self.connected = True
        for observer in list(self._on_connected):
            self._notify(observer, self)

    def dataReceived(self, data: bytes) -> None:
        decoder = self._decoder
        pending = self._pending
        if pending and data == pending[0].empty and not decoder.buffered:
            # Exactly the frame of the awaited response with nothing set (a
            # Ping's): nothing to parse, the one request is answered.
            head = pending.popleft()
            head.deferred.callback(head.expected())
            return
        decoder.feed(data)
        try:
            while (response := decoder.next_message()) is not None:
                self._dispatch(response)
                if not self.connected:
                    return
        except ProtocolError as error:
            self._abort(f"bad response from the server: {error}")

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        # State first, then observers, then the pending requests: whoever
        # sees a request fail already sees the connection as lost.
        self.connected = False
        for observer in list(self._on_disconnected):
            self._notify(observer, reason)
        partial = self._decoder.buffered
        where = f" in the middle of a frame ({partial} bytes received)" if partial else ""
        self._fail_pending(
            ClientConnectionError(f"connection lost{where}: {reason.getErrorMessage()}")
        )
        closed, self._closed = self._closed, []
        for deferred in closed:
            deferred.callback(None)

    def _abort(self, message: str) -> None:
        """The byte stream can no longer be trusted: drop it and fail everything."""
        self._log.error("{message}; dropping the connection", message=message)
        self.connected = False
        self._transport().abortConnection()
        self._fail_pending(ClientConnectionError(message))

    def _fail_pending(self, error: ClientError) -> None:
        pending, self._pending = self._pending, deque()
        for waiting in pending:
            waiting.deferred.errback(error)

    def _dispatch(self, response: Response) -> None:
        if not self._pending:
            self._abort(f"unexpected {type(response).__name__} with no request pending")
            return
        head = self._pending[0]
        if type(response) is ErrorResponse:
            self._pending.popleft()
            head.deferred.errback(server_error(response, head.expected))
            return
        if not isinstance(response, head.expected):
            self._abort(
                f"expected {head.expected.__name__} from the server, got {type(response).__name__}"
            )
            return
        if head.on_chunk is not None and not _ends_stream(response):
            self._deliver_chunk(head, response)
            return
        self._pending.popleft()
        if head.chunk_error is not None:
            head.deferred.errback(head.chunk_error)
            return
        head.deferred.callback(response_to_v1(response) if head.v1 else response)

    def _deliver_chunk(self, head: _Pending, response: Response) -> None:
        if head.chunk_error is not None or head.on_chunk is None:
            return
        try:
            head.on_chunk(response_to_v1(response) if head.v1 else response)
        except Exception:
            # Keep reading the stream so the connection stays in step; the
            # stream's Deferred fails with this error at its end.
            head.chunk_error = Failure()  # type: ignore[no-untyped-call]

    # -- requests -----------------------------------------------------------

    def _call(self, request: Any) -> Deferred[Any]:
        try:
            if is_v1_command(request):
                self._v1_mode = True
                request = request_from_v1(request)
        except Exception:
            return defer.fail()
        deferred = self._send(request)
        if self._v1_mode:
            deferred.addCallback(response_to_v1)
        return deferred

    def _send(self, request: Any) -> Deferred[Any]:
        if type(request) not in _STREAMED:  # the usual case, in one look-up
            return self._write(_Pending(Deferred(), StreamResponse), request)
        if isinstance(request, StreamRequest):
            return defer.fail(TypeError("a StreamRequest is answered by many frames: use stream()"))
        return defer.fail(
            TypeError(
                f"a {type(request).__name__} is one of many frames: use stream_in() or stream_out()"
            )
        )

    def stream(self, request: Any, on_chunk: ChunkCallback) -> Deferred[Any]:
        """Stream a job's output: ``on_chunk(frame)`` for each frame, then the last frame.

        ``request`` is a StreamRequest or the v1 command ``["stream", handle,
        job_id]``. The Deferred fires with the frame carrying ``exit_status``;
        in v1 mode frames are ``[name, data, exit_status]`` triples. If
        ``on_chunk`` raises, the rest of the stream is read and dropped and the
        Deferred fails with that error.
        """
        try:
            if is_v1_command(request):
                self._v1_mode = True
                request = request_from_v1(request)
            if not isinstance(request, StreamRequest):
                raise TypeError(
                    "Expected argument to be of type:'StreamRequest', "
                    f"but received: '{type(request).__name__}'."
                )
        except Exception:
            return defer.fail()
        return self._write(_Pending(Deferred(), StreamResponse, on_chunk, self._v1_mode), request)

    def stream_out(
        self, handle: str, src_path: str, on_chunk: Callable[[bytes], object]
    ) -> Deferred[StreamOutResponse]:
        """The tar stream of ``src_path`` in the container: ``on_chunk(bytes)`` per chunk.

        ``src_path`` ending in ``/`` streams a directory's contents (``./...``),
        else the path itself by its name; packed as the container's user.
        The Deferred fires with the last frame (``done``) or fails with
        ServerError (the connection stays usable). If ``on_chunk`` raises,
        the rest is read and dropped and the Deferred fails with that error.
        """

        def deliver(response: StreamOutResponse) -> None:
            if response.data:
                on_chunk(response.data)

        request = StreamOutRequest(handle=handle, src_path=src_path)
        return self._write(_Pending(Deferred(), StreamOutResponse, deliver), request)

    def stream_in(
        self,
        handle: str,
        dst_path: str,
        fileobj: IO[bytes],
        *,
        chunk_size: int = STREAM_CHUNK,
        window: int = STREAM_WINDOW,
    ) -> Deferred[StreamInResponse]:
        """Send the tar stream read from ``fileobj`` to be extracted under ``dst_path``.

        As the blocking client's ``stream_in``: chunks of ``chunk_size``
        bytes, up to ``window`` of them unanswered (``fileobj`` is read as
        they go, never whole). Fires with the answer to the last chunk, or
        fails with ServerError (a broken stream, a full disk; the connection
        stays usable).
        """
        if chunk_size <= 0 or window <= 0:
            return defer.fail(ValueError("chunk_size and window must be positive"))
        return defer.ensureDeferred(self._stream_in(handle, dst_path, fileobj, chunk_size, window))

    async def _stream_in(
        self, handle: str, dst_path: str, fileobj: IO[bytes], chunk_size: int, window: int
    ) -> StreamInResponse:
        answers: deque[Deferred[Any]] = deque()
        error: ServerError | None = None
        response: Any = None

        def send(data: bytes, last: bool) -> None:
            request = StreamInRequest(handle=handle, dst_path=dst_path, data=data, last=last)
            answers.append(self._write(_Pending(Deferred(), StreamInResponse), request))

        async def take(until: int) -> None:
            nonlocal error, response
            while len(answers) > until:
                try:
                    response = await answers.popleft()
                except ServerError as failed:
                    error = error or failed

        try:
            chunk = fileobj.read(chunk_size)
            while True:
                following = fileobj.read(chunk_size) if chunk else b""
                last = not following
                send(chunk, last)
                await take(0 if last else window - 1)
                if last:
                    break
                if error is not None:
                    # The server answers the rest with the error: end the stream now.
                    send(b"", True)
                    await take(0)
                    break
                chunk = following
        finally:
            for waiting in answers:  # a lost connection: the first failure is raised
                waiting.addErrback(_ignore)
        if error is not None:
            raise error
        assert isinstance(response, StreamInResponse)
        return response

    def _write(self, pending: _Pending, request: Any) -> Deferred[Any]:
        """Encode and send ``request``; its answer goes to ``pending``."""
        if not is_request(request):
            return defer.fail(
                TypeError(
                    "Expected a warden request (such as PingRequest) or a v1 command list, "
                    f"but received: '{type(request).__name__}'."
                )
            )
        if not self.connected:
            return defer.fail(ClientConnectionError("not connected"))
        try:
            frame = request_to_wire(request)
        except ProtocolError:
            return defer.fail()
        pending.expected, empty = expected_response(type(request))
        if pending.on_chunk is None:
            pending.empty = empty
        self._pending.append(pending)
        transport: Any = self.transport
        sent = send_now(transport, frame)
        if sent < len(frame):
            transport.write(frame[sent:] if sent else frame)
        return pending.deferred
