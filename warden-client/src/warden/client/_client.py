# -*- test-case-name: tests.test_client -*-
"""The blocking client: one unix socket connection, one request at a time."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Generator, Iterator
from types import TracebackType
from typing import IO, Any, Final, TypeVar, overload

from warden.protocol import (
    DEFAULT_MAX_FRAME_SIZE,
    DEFAULT_SOCKET_PATH,
    ErrorResponse,
    MessageDecoder,
    ProtocolError,
    Request,
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
from warden.protocol.errors import (
    ClientConnectionError,
    ClientError,
    ClientTimeoutError,
    ExtensionNotSupported,
    ServerError,
    server_error,
)
from warden.protocol.v1 import is_v1_command, request_from_v1, response_to_v1

from ._methods import RequestMethods

__all__ = ["Client"]

#: A streamed request's response class.
R = TypeVar("R", bound=Response)

_RECV_SIZE: Final = 256 * 1024
#: Bytes of a tar stream per StreamIn frame.
STREAM_CHUNK: Final = 64 * 1024
#: StreamIn frames sent ahead of their answers.
STREAM_WINDOW: Final = 4
#: Requests answered by many frames, or sent as many: not for ``call``.
_STREAMED: Final = frozenset((StreamRequest, StreamInRequest, StreamOutRequest))
#: The socket's timeout before the client has set one.
_UNSET: Final = -1.0


class Client(RequestMethods):
    """A blocking connection to a warden server on a unix socket.

    >>> with Client("/tmp/warden.sock") as client:      # doctest: +SKIP
    ...     handle = client.create(grace_time=30).handle
    ...     client.run(handle, "echo hi").stdout
    b'hi\\n'

    Not thread-safe: use one client per thread. A ``ClientConnectionError``
    (refused, closed, EOF, timeout, bad bytes from the server) leaves the client
    disconnected; ``reconnect()`` starts afresh.
    """

    def __init__(
        self,
        socket_path: str = DEFAULT_SOCKET_PATH,
        *,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    ) -> None:
        self.socket_path = socket_path
        self.max_frame_size = max_frame_size
        self._sock: socket.socket | None = None
        self._decoder = MessageDecoder("response", max_frame_size)
        self._v1_mode = False
        self._streaming = False
        self._expected: type[Response] = ErrorResponse
        #: The expected response's frame with nothing set, if it has one.
        self._expected_empty: bytes | None = None
        self._generation = 0  # counts connections, so a stream notices a new one
        # Received bytes land here (recv of a fresh 256 KiB bytes object would
        # cost an mmap, an mremap and an munmap per call); the decoder copies.
        self._recv_buffer = bytearray(_RECV_SIZE)
        self._timeout: float | None = _UNSET

    # -- connection ---------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the client holds an open connection."""
        return self._sock is not None

    @property
    def v1_mode(self) -> bool:
        """True once a v1 command was sent: ``call`` then returns v1 values."""
        return self._v1_mode

    def connect(self) -> None:
        """Open the connection; ClientError if already connected."""
        if self._sock is not None:
            raise ClientError("already connected")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.socket_path)
        except OSError as error:
            sock.close()
            raise ClientConnectionError(
                f"cannot connect to {self.socket_path}: {error.strerror or error}"
            ) from error
        self._sock = sock
        self._timeout = _UNSET
        self._generation += 1
        self._decoder = MessageDecoder("response", self.max_frame_size)
        self._streaming = False

    def disconnect(self) -> None:
        """Close the connection; ClientError if not connected."""
        if self._sock is None:
            raise ClientError("not connected")
        self._close()

    def reconnect(self) -> None:
        """Disconnect if connected, then connect."""
        if self._sock is not None:
            self._close()
        self.connect()

    def __enter__(self) -> Client:
        if self._sock is None:
            self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._sock is not None:
            self._close()

    def _close(self) -> None:
        sock, self._sock = self._sock, None
        self._streaming = False
        if sock is not None:
            sock.close()

    # -- requests -----------------------------------------------------------

    def _call(self, request: Any, timeout: float | None) -> Any:
        if is_v1_command(request):
            self._v1_mode = True
            request = request_from_v1(request)
        response = self._send(request, timeout)
        return response_to_v1(response) if self._v1_mode else response

    def _send(self, request: Any, timeout: float | None) -> Any:
        if not is_request(request):
            raise TypeError(
                "Expected a warden request (such as PingRequest) or a v1 command list, "
                f"but received: '{type(request).__name__}'."
            )
        if type(request) in _STREAMED:
            if isinstance(request, StreamRequest):
                raise TypeError("a StreamRequest is answered by many frames: use stream()")
            raise TypeError(
                f"a {type(request).__name__} is one of many frames: use stream_in() or stream_out()"
            )
        deadline = None if timeout is None else time.monotonic() + timeout
        self._write(request, deadline)
        return self._read(deadline)

    @overload
    def stream(self, request: StreamRequest, /) -> Iterator[StreamResponse]: ...
    @overload
    def stream(self, request: str, job_id: int) -> Iterator[StreamResponse]: ...
    @overload
    def stream(self, request: list[Any] | tuple[Any, ...], /) -> Iterator[list[Any]]: ...
    def stream(self, request: Any, job_id: int | None = None) -> Iterator[Any]:
        """Stream a job's output: each StreamResponse, the last one carrying ``exit_status``.

        Takes a StreamRequest, a handle and a job id, or the v1 command
        ``["stream", handle, job_id]``. In v1 mode (see ``call``) a request or a
        v1 command yields each frame as ``[name, data, exit_status]``; the
        ``stream(handle, job_id)`` form always yields responses. The request is
        sent when iteration begins. Leaving the loop before the end disconnects
        the client, since the rest of the stream would be taken for later answers.
        """
        if isinstance(request, str):
            if job_id is None:
                raise TypeError("stream(handle, job_id) needs a job_id")
            return self._stream(StreamRequest(handle=request, job_id=job_id), v1=False)
        if is_v1_command(request):
            self._v1_mode = True
            request = request_from_v1(request)
        if not isinstance(request, StreamRequest):
            raise TypeError(
                "Expected argument to be of type:'StreamRequest', "
                f"but received: '{type(request).__name__}'."
            )
        return self._stream(request, v1=self._v1_mode)

    def _stream(self, request: StreamRequest, v1: bool) -> Iterator[Any]:
        with contextlib.closing(
            self._responses(request, StreamResponse, lambda r: r.HasField("exit_status"))
        ) as responses:
            for response in responses:
                yield response_to_v1(response) if v1 else response

    def _responses(
        self, request: Request, kind: type[R], is_last: Callable[[R], bool]
    ) -> Generator[R, None, None]:
        """The frames answering a streamed request, through the last (or an error).

        The connection is busy until then; a caller that stops early
        disconnects the client, since the rest of the frames would still come.
        """
        self._write(request, None)
        self._streaming = True
        generation = self._generation
        finished = False
        try:
            while True:
                if self._generation != generation or self._sock is None:
                    raise ClientConnectionError("the connection of this stream was closed")
                response = self._read(None)
                assert isinstance(response, kind)
                finished = is_last(response)
                yield response
                if finished:
                    return
        except ServerError:
            finished = True  # an ErrorResponse ends the stream
            raise
        finally:
            if self._generation == generation:
                self._streaming = False
                if not finished and self._sock is not None:
                    self._close()

    # -- tar streams (extensions) -------------------------------------------

    def stream_in(
        self,
        handle: str,
        dst_path: str,
        fileobj: IO[bytes],
        *,
        chunk_size: int = STREAM_CHUNK,
        window: int = STREAM_WINDOW,
    ) -> StreamInResponse:
        """Send the tar stream read from ``fileobj`` to be extracted under ``dst_path``.

        The container's user extracts it in the container's view (``dst_path``
        is made if missing). The stream goes in chunks of ``chunk_size``
        bytes, up to ``window`` of them unanswered; ``fileobj`` is read as
        they go, never whole. Returns the answer to the last chunk; a failed
        extraction (a broken stream, a full disk) raises ServerError and
        leaves the connection usable.
        """
        if chunk_size <= 0 or window <= 0:
            raise ValueError("chunk_size and window must be positive")
        self._connected_socket()
        unanswered = 0
        error: ServerError | None = None
        last_response: Any = None
        chunk = fileobj.read(chunk_size)
        while True:
            following = fileobj.read(chunk_size) if chunk else b""
            last = not following
            self._write(StreamInRequest(handle=handle, dst_path=dst_path, data=chunk,
                                        last=last), None)  # fmt: skip
            unanswered += 1
            while unanswered >= (1 if last else window):
                unanswered -= 1
                try:
                    last_response = self._read(None)
                except ServerError as failed:
                    error = error or failed
            if last:
                break
            if error is not None:
                # The server answers the rest with the error: end the stream now.
                self._write(StreamInRequest(handle=handle, dst_path=dst_path, last=True), None)
                unanswered += 1
                while unanswered:
                    unanswered -= 1
                    with contextlib.suppress(ServerError):
                        self._read(None)
                break
            chunk = following
        if error is not None:
            raise error
        assert isinstance(last_response, StreamInResponse)
        return last_response

    def stream_out(self, handle: str, src_path: str) -> Iterator[bytes]:
        """The tar stream of ``src_path`` in the container, chunk by chunk.

        ``src_path`` ending in ``/`` streams a directory's contents (``./...``),
        else the path itself by its name; packed as the container's user.
        The request is sent when iteration begins. A failure raises
        ServerError (the connection stays usable); leaving the loop before
        the end disconnects the client, as for ``stream()``.
        """
        return self._stream_out(StreamOutRequest(handle=handle, src_path=src_path))

    def _stream_out(self, request: StreamOutRequest) -> Iterator[bytes]:
        with contextlib.closing(
            self._responses(request, StreamOutResponse, lambda r: r.done)
        ) as responses:
            for response in responses:
                if response.data:
                    yield response.data

    # -- wire ---------------------------------------------------------------

    def _connected_socket(self) -> socket.socket:
        if self._sock is None:
            raise ClientConnectionError(f"not connected to {self.socket_path}")
        if self._streaming:
            raise ClientError("a stream is being read on this connection: finish it first")
        return self._sock

    def _write(self, request: Request, deadline: float | None) -> None:
        sock = self._connected_socket()
        frame = request_to_wire(request)  # ProtocolError here: nothing was sent
        try:
            self._set_timeout(sock, deadline)
            sock.sendall(frame)
        except TimeoutError as error:
            self._close()
            raise ClientTimeoutError("timed out sending the request; disconnected") from error
        except OSError as error:
            self._close()
            raise ClientConnectionError(
                f"connection to {self.socket_path} lost while sending: {error.strerror or error}"
            ) from error
        self._expected, self._expected_empty = expected_response(type(request))

    def _read(self, deadline: float | None) -> Response:
        """The next response; ServerError for an ErrorResponse."""
        response = self._next_response(deadline)
        if isinstance(response, ErrorResponse):
            error = server_error(response, self._expected)
            if isinstance(error, ExtensionNotSupported):
                # A server that does not know the type closes the connection.
                self._close()
            raise error
        if not isinstance(response, self._expected):
            self._close()
            raise ClientConnectionError(
                f"expected {self._expected.__name__} from the server, "
                f"got {type(response).__name__}; disconnected"
            )
        return response

    def _next_response(self, deadline: float | None) -> Response:
        empty = self._expected_empty
        if empty is not None and not self._decoder.buffered:
            # A response with nothing set (a Ping's, a Destroy's): when the
            # bytes received are exactly its frame, nothing needs parsing.
            size = self._recv(deadline)
            buffer = self._recv_buffer
            if size == len(empty) and buffer.startswith(empty):
                return self._expected()
            self._feed(size)
        while True:
            try:
                response = self._decoder.next_message()
                if response is not None:
                    return response
            except ProtocolError as error:
                self._close()
                raise ClientConnectionError(
                    f"bad response from the server: {error}; disconnected"
                ) from error
            self._receive(deadline)

    def _remaining(self, deadline: float | None) -> float | None:
        """Seconds left before the deadline, for socket.settimeout."""
        if deadline is None:
            return None
        left = deadline - time.monotonic()
        if left <= 0:
            self._close()
            raise ClientTimeoutError("no response within the timeout; disconnected")
        return left

    def _set_timeout(self, sock: socket.socket, deadline: float | None) -> None:
        """The socket's timeout for what is left until the deadline (each
        change is a system call: none when it stays without one)."""
        timeout = self._remaining(deadline)
        if timeout is not None or self._timeout is not None:
            sock.settimeout(timeout)
            self._timeout = timeout

    def _receive(self, deadline: float | None) -> None:
        self._feed(self._recv(deadline))

    def _feed(self, size: int) -> None:
        with memoryview(self._recv_buffer) as view:
            self._decoder.feed(view[:size])

    def _recv(self, deadline: float | None) -> int:
        """Receive into ``_recv_buffer``; how many bytes (never none: EOF raises)."""
        sock = self._sock
        if sock is None:  # closed by a generator that was given up, for one
            raise ClientConnectionError(f"not connected to {self.socket_path}")
        try:
            self._set_timeout(sock, deadline)
            size = sock.recv_into(self._recv_buffer)
        except TimeoutError as error:
            self._close()
            raise ClientTimeoutError("no response within the timeout; disconnected") from error
        except OSError as error:
            self._close()
            raise ClientConnectionError(
                f"connection to {self.socket_path} lost: {error.strerror or error}"
            ) from error
        if not size:
            partial = self._decoder.buffered
            self._close()
            where = f" in the middle of a frame ({partial} bytes received)" if partial else ""
            raise ClientConnectionError(f"connection closed by the server{where}")
        return size
