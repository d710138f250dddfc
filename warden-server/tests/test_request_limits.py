"""Bounds on what one connection can make the server hold: a request frame's
size (``server.request_size_limit``), requests queued behind a busy one; and
the listen backlog (``server.listen_backlog``) under a burst of clients."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable
from typing import Any

from conftest import WardenServer
from google.protobuf.message import Message
from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock, StringTransport

from warden.protocol import (
    EchoRequest,
    EchoResponse,
    ErrorResponse,
    MessageDecoder,
    PingRequest,
    PingResponse,
    RunRequest,
    encode_frame,
    request_to_wire,
    response_to_wire,
)
from warden.server._config import parse_config
from warden.server._protocol import WardenConnection

LIMIT = 4096


class FakeServer:
    """What a connection asks of the server; Run waits until released."""

    def __init__(self) -> None:
        self.config = parse_config({"server": {"request_size_limit": LIMIT}})
        self.reactor = MemoryReactorClock()
        self.waiting: list[defer.Deferred[None]] = []

    def connection_made(self, connection: WardenConnection) -> None:
        pass

    def connection_lost(self, connection: WardenConnection) -> None:
        pass

    def answer_now(self, request: Message) -> Message | None:
        if isinstance(request, EchoRequest):
            return EchoResponse(message=request.message)
        return None

    async def handle(self, request: Message, connection: WardenConnection) -> None:
        done: defer.Deferred[None] = defer.Deferred()
        self.waiting.append(done)
        await done
        connection.send(EchoResponse(message="ran"))


def connected() -> tuple[FakeServer, WardenConnection, StringTransport]:
    server = FakeServer()
    connection = WardenConnection(server)  # type: ignore[arg-type]
    transport = StringTransport()
    connection.makeConnection(transport)
    return server, connection, transport


def responses(transport: StringTransport) -> list[Any]:
    decoder = MessageDecoder("response")
    decoder.feed(transport.value())
    return list(decoder)


def test_a_frame_over_the_limit_is_refused_by_its_length_line_and_closes() -> None:
    _, connection, transport = connected()
    connection.dataReceived(b"%d\r\n" % (LIMIT + 1) + b"x" * 100)
    [error] = responses(transport)
    assert isinstance(error, ErrorResponse)
    assert f"frame length {LIMIT + 1} exceeds the maximum of {LIMIT} bytes" in error.message
    assert transport.disconnecting
    # nothing of the frame is kept
    assert connection.decoder.buffered <= len(b"%d\r\n" % (LIMIT + 1)) + 100


def test_a_frame_at_the_limit_is_served() -> None:
    _, connection, transport = connected()
    overhead = len(request_to_wire(EchoRequest(message=""))) - len(encode_frame(b"")) + 8
    wire = request_to_wire(EchoRequest(message="e" * (LIMIT - overhead)))
    payload_length = int(wire.split(b"\r\n", 1)[0])
    assert LIMIT - 16 <= payload_length <= LIMIT
    connection.dataReceived(wire)
    assert responses(transport) == [EchoResponse(message="e" * (LIMIT - overhead))]
    assert not transport.disconnecting


def test_reading_pauses_while_queued_requests_exceed_the_limit() -> None:
    server, connection, transport = connected()
    run = request_to_wire(RunRequest(handle="h", script="s" * (LIMIT // 4)))
    connection.dataReceived(run)  # busy with it from now on
    assert connection.busy and transport.producerState == "producing"
    for _ in range(3):
        connection.dataReceived(run)
    assert transport.producerState == "producing"  # 3/4 of the limit queued
    connection.dataReceived(run + run)
    assert transport.producerState == "paused"
    # Served one by one; reading resumes once the queue is empty.
    while server.waiting:
        server.waiting.pop().callback(None)
        server.reactor.advance(0)
    assert transport.producerState == "producing"
    assert responses(transport) == [EchoResponse(message="ran")] * 6


def test_other_connections_are_served_after_one_is_refused(
    make_server: Callable[..., WardenServer],
) -> None:
    server = make_server(server={"request_size_limit": 65536}).start()
    bad = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    good = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for sock in (bad, good):
        sock.settimeout(30)
        sock.connect(server.socket_path)
    try:
        bad.sendall(b"70000\r\n" + b"x" * 1000)
        decoder = MessageDecoder("response")
        while data := bad.recv(65536):
            decoder.feed(data)
        [error] = list(decoder)
        assert "exceeds the maximum of 65536 bytes" in error.message
        good.sendall(request_to_wire(PingRequest()))
        assert good.recv(65536) == response_to_wire(PingResponse())
    finally:
        bad.close()
        good.close()


def test_a_hundred_clients_connecting_at_once_are_all_accepted(server: WardenServer) -> None:
    # Connected (queued by the kernel) before the server accepts any: with
    # Twisted's backlog of 50 the 51st gets EAGAIN on a non-blocking connect.
    clients = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(100)]
    try:
        os.kill(server.pid, signal.SIGSTOP)  # accepts nothing meanwhile
        try:
            for sock in clients:
                sock.setblocking(False)
                sock.connect(server.socket_path)
        finally:
            os.kill(server.pid, signal.SIGCONT)
        ping, pong = request_to_wire(PingRequest()), response_to_wire(PingResponse())
        for sock in clients:
            sock.setblocking(True)
            sock.settimeout(30)
            sock.sendall(ping)
        assert [sock.recv(64) for sock in clients] == [pong] * 100
    finally:
        for sock in clients:
            sock.close()
