"""One connection on a ``StringTransport``: framing, one request at a time, bad frames, drain."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import pytest
from google.protobuf.message import Message
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from warden.protocol import (
    CreateRequest,
    CreateResponse,
    EchoRequest,
    EchoResponse,
    ErrorResponse,
    InfoRequest,
    InfoResponse,
    LinkRequest,
    PingRequest,
    PingResponse,
    RunRequest,
    RunResponse,
    StreamRequest,
    request_to_wire,
    response_to_wire,
)
from warden.server._config import parse_config
from warden.server._metrics import Metrics
from warden.server._output_response import OutputResponse
from warden.server._protocol import SEND_WINDOW, WardenConnection, widen_send_window

from ._fakes import responses


class Owner:
    """A ``ConnectionOwner``: Ping and Echo on the spot, the rest held until answered."""

    def __init__(self) -> None:
        self.reactor = Clock()
        self.connections: list[WardenConnection] = []
        self.lost: list[WardenConnection] = []
        self.handled: list[Message] = []
        self._pending: list[defer.Deferred[Message]] = []
        self.metrics = Metrics(self, ())
        self.config = parse_config(None)  # the defaults (the request size limit)

    # What the metrics read: nothing lives here.
    def container_states(self) -> list[str]:
        return []

    def running_jobs(self) -> int:
        return 0

    def pools(self) -> dict[str, Any]:
        return {}

    def warm_pool_sizes(self) -> tuple[int, int]:
        return 0, 0

    def connection_made(self, connection: WardenConnection) -> None:
        self.connections.append(connection)

    def connection_lost(self, connection: WardenConnection) -> None:
        self.lost.append(connection)

    def answer_now(self, request: Message) -> Message | None:
        if isinstance(request, PingRequest):
            return PingResponse()
        if isinstance(request, EchoRequest):
            return EchoResponse(message=request.message)
        return None

    async def handle(self, request: Message, connection: WardenConnection) -> None:
        self.handled.append(request)
        answer: defer.Deferred[Message] = defer.Deferred()
        self._pending.append(answer)
        connection.send(await answer)

    def answer(self, response: Message) -> None:
        """Answer the oldest held request."""
        self._pending.pop(0).callback(response)

    def explode(self) -> None:
        """The oldest held request fails in a way the server did not expect."""
        self._pending.pop(0).errback(RuntimeError("boom"))


@pytest.fixture
def owner() -> Owner:
    return Owner()


@pytest.fixture
def transport() -> StringTransport:
    return StringTransport()


@pytest.fixture
def connection(owner: Owner, transport: StringTransport) -> WardenConnection:
    connection = WardenConnection(owner)
    connection.makeConnection(transport)
    return connection


def info(handle: str) -> bytes:
    return request_to_wire(InfoRequest(handle=handle))


def test_connection_made_and_lost_reach_the_owner(
    owner: Owner, connection: WardenConnection
) -> None:
    assert owner.connections == [connection]
    lost = connection.when_lost()
    connection.connectionLost()
    assert owner.lost == [connection] and lost.called
    assert connection.when_lost().called  # after the fact, at once


def test_a_ping_is_answered_at_once(
    connection: WardenConnection, transport: StringTransport
) -> None:
    connection.dataReceived(request_to_wire(PingRequest()))
    assert responses(transport.value()) == [PingResponse()]
    # The shortcut for a lone Ping counts it all the same.
    owner: Any = connection.server
    assert b'warden_requests_total{outcome="ok",type="Ping"} 1.0' in owner.metrics.exposition()


def test_a_frame_split_byte_by_byte_is_one_request(
    connection: WardenConnection, transport: StringTransport
) -> None:
    wire = request_to_wire(EchoRequest(message="hello\r\nworld"))
    for index in range(len(wire) - 1):
        connection.dataReceived(wire[index : index + 1])
    assert transport.value() == b""
    connection.dataReceived(wire[-1:])
    assert responses(transport.value()) == [EchoResponse(message="hello\r\nworld")]


def test_frames_split_across_reads_at_any_point(
    connection: WardenConnection, transport: StringTransport
) -> None:
    wire = b"".join(request_to_wire(EchoRequest(message=str(n))) for n in range(3))
    connection.dataReceived(wire[:7])
    connection.dataReceived(wire[7:30])
    connection.dataReceived(wire[30:])
    assert responses(transport.value()) == [EchoResponse(message=str(n)) for n in range(3)]


def test_pipelined_requests_are_served_one_at_a_time_in_order(
    owner: Owner, connection: WardenConnection, transport: StringTransport
) -> None:
    connection.dataReceived(info("a") + request_to_wire(EchoRequest(message="e")) + info("b"))
    assert [r.handle for r in owner.handled] == ["a"]  # b waits its turn
    assert transport.value() == b""  # the Echo too: it is behind a
    owner.answer(InfoResponse(state="a"))
    # The next request starts on the next reactor turn.
    assert [r.handle for r in owner.handled] == ["a"]
    owner.reactor.advance(0)
    assert [r.handle for r in owner.handled] == ["a", "b"]
    owner.answer(InfoResponse(state="b"))
    assert responses(transport.value()) == [
        InfoResponse(state="a"), EchoResponse(message="e"), InfoResponse(state="b"),
    ]  # fmt: skip
    assert not transport.disconnecting


def test_a_bad_frame_gets_an_error_then_the_connection_closes(
    owner: Owner, connection: WardenConnection, transport: StringTransport
) -> None:
    connection.dataReceived(request_to_wire(EchoRequest(message="first")) + b"abc\r\n")
    first, error = responses(transport.value())
    assert first == EchoResponse(message="first")
    assert isinstance(error, ErrorResponse)
    assert error.message == "frame length must be a non-negative decimal number, got b'abc'"
    assert transport.disconnecting
    written = transport.value()
    connection.dataReceived(request_to_wire(PingRequest()))  # ignored from now on
    assert transport.value() == written


def test_a_bad_message_in_a_good_frame_is_refused(
    connection: WardenConnection, transport: StringTransport
) -> None:
    payload = b"\x08\x63"  # an envelope of type 99, which does not exist, and no payload
    connection.dataReceived(b"%d\r\n%s\r\n" % (len(payload), payload))
    (error,) = responses(transport.value())
    assert isinstance(error, ErrorResponse) and error.message
    assert transport.disconnecting


def test_a_bad_frame_waits_for_the_requests_before_it(
    owner: Owner, connection: WardenConnection, transport: StringTransport
) -> None:
    connection.dataReceived(info("a") + b"x\r\n")
    assert transport.value() == b"" and not transport.disconnecting
    owner.answer(InfoResponse(state="a"))
    owner.reactor.advance(0)
    answer, error = responses(transport.value())
    assert answer == InfoResponse(state="a") and isinstance(error, ErrorResponse)
    assert transport.disconnecting


def test_an_unexpected_failure_closes_the_connection(
    owner: Owner, connection: WardenConnection, transport: StringTransport
) -> None:
    connection.dataReceived(info("a") + info("b"))
    owner.explode()
    owner.reactor.advance(0)
    assert transport.disconnecting
    assert [r.handle for r in owner.handled] == ["a"]  # the queue was dropped


def test_drain_closes_an_idle_connection_at_once(
    connection: WardenConnection, transport: StringTransport
) -> None:
    connection.drain()
    assert transport.disconnecting


def test_drain_lets_a_create_finish_and_drops_the_queue(
    owner: Owner, connection: WardenConnection, transport: StringTransport
) -> None:
    connection.dataReceived(request_to_wire(CreateRequest()) + info("later"))
    connection.drain()
    assert not transport.disconnecting
    owner.answer(CreateResponse(handle="h"))
    assert responses(transport.value()) == [CreateResponse(handle="h")]
    assert transport.disconnecting
    owner.reactor.advance(0)
    assert len(owner.handled) == 1  # the queued Info was dropped


@pytest.mark.parametrize(
    "waiting",
    [
        RunRequest(handle="h", script="sleep 9"),
        LinkRequest(handle="h", job_id=1),
        StreamRequest(handle="h", job_id=1),
    ],
)
def test_drain_closes_a_connection_waiting_on_a_job(
    owner: Owner, connection: WardenConnection, transport: StringTransport, waiting: Any
) -> None:
    connection.dataReceived(request_to_wire(waiting))
    assert owner.handled == [waiting]
    connection.drain()
    assert transport.disconnecting
    assert transport.value() == b""


class SocketTransport(StringTransport):
    """A ``StringTransport`` with a real socket, as Twisted's socket transports have."""

    SEND_LIMIT = 128 * 1024

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self.socket = sock


def test_a_connection_sends_large_responses_in_a_wide_window(owner: Owner) -> None:
    # A Stream of megabytes: a few large sends, not one per 128 KiB turn.
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs:
        before = ours.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        transport = SocketTransport(ours)
        WardenConnection(owner).makeConnection(transport)
        assert before < SEND_WINDOW <= ours.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        assert transport.SEND_LIMIT == SEND_WINDOW


def test_a_transport_without_a_socket_is_left_as_it_is(transport: StringTransport) -> None:
    widen_send_window(transport)
    assert not hasattr(transport, "SEND_LIMIT")


class IdleSocketTransport(SocketTransport):
    """A ``SocketTransport`` whose queue fields say nothing is queued, as an
    idle Twisted socket transport's do (``send_now`` looks at them)."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.connected = True
        self.disconnecting = False
        self._tempDataLen = 0
        self.dataBuffer = b""
        self.offset = 0


@pytest.mark.parametrize("with_socket", [False, True])
def test_a_runs_output_goes_out_beside_its_message(owner: Owner, with_socket: bool) -> None:
    # What the socket takes at once (gathered from the parts), then the rest
    # queued: together the very bytes of the whole message's frame.
    output = OutputResponse(
        RunResponse(exit_status=3, info=InfoResponse(state="active")),
        b"o" * 3 * SEND_WINDOW,
        b"e\n",
    )
    wire = response_to_wire(output.whole())
    assert b"".join(output.wire_parts()) == wire
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs:
        ours.setblocking(False)
        transport = IdleSocketTransport(ours) if with_socket else StringTransport()
        connection = WardenConnection(owner)
        connection.makeConnection(transport)
        connection.send(output)
        theirs.setblocking(False)
        sent = b""
        with contextlib.suppress(BlockingIOError):
            while chunk := theirs.recv(1 << 20):
                sent += chunk
        assert (len(sent) > 0) is with_socket and len(sent) < len(wire)
        assert sent + transport.value() == wire
