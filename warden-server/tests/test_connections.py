"""Connections: pipelining, bad frames and bad requests, grace timers, many clients."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
from conftest import AnyClient, WardenServer, in_reactor, reactor, wait_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet import defer

from warden.client import Client, ServerError
from warden.protocol import (
    EchoRequest,
    ErrorResponse,
    MessageDecoder,
    RunRequest,
    SpawnRequest,
    encode_frame,
    request_to_wire,
)
from warden.twisted_client import connect


class RawConnection:
    """Bytes in, decoded responses out: for what the clients refuse to send."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.decoder = MessageDecoder("response")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def responses(self) -> list[Any]:
        """Every response until the server closes the connection."""
        while True:
            data = self.sock.recv(65536)
            if not data:
                return list(self.decoder)
            self.decoder.feed(data)

    def receive(self) -> Any:
        while True:
            for message in self.decoder:
                return message
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("closed by the server")
            self.decoder.feed(data)

    def close(self) -> None:
        self.sock.close()


def envelope(type_number: int, payload: bytes) -> bytes:
    return encode_frame(bytes([0x08, type_number, 0x12, len(payload)]) + payload)


BAD_FRAMES = {
    "bad length line": (b"twelve\r\nxxxxxxxxxxxx\r\n", "length"),
    "missing CRLF": (b"2\r\nabXY", "CRLF"),
    "unknown type": (envelope(77, b""), "Unknown request type: 77"),
    "undecodable envelope": (encode_frame(b"\xff\xff\xff"), "envelope"),
    # Spawn (21) with only a handle: its script is required.
    "missing required field": (envelope(21, b"\x0a\x01h"), "script"),
}


@pytest.mark.parametrize("frame, named", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
def test_a_bad_frame_closes_only_its_connection(
    server: WardenServer, connect_client: Callable[[WardenServer], AnyClient],
    frame: bytes, named: str,
) -> None:  # fmt: skip
    other = connect_client(server)
    handle = other.create().handle
    job_id = other.spawn(handle, "while [ ! -e go ]; do sleep 0.02; done; echo fine").job_id
    raw = RawConnection(server.socket_path)
    # A good request pipelined before the bad frame is answered first.
    raw.send(
        request_to_wire(EchoRequest(message="first"))
        + frame
        + request_to_wire(EchoRequest(message="never"))
    )
    first, error = raw.responses()
    raw.close()
    assert first.message == "first"
    assert isinstance(error, ErrorResponse) and named in error.message
    # Everything else carries on.
    assert other.echo("still here").message == "still here"
    other.run(handle, "touch go")
    assert other.link(handle, job_id).stdout == b"fine\n"


def test_bad_requests_get_errors_and_the_connection_goes_on(client: AnyClient) -> None:
    with pytest.raises(ServerError) as caught:
        client.create(network="not-an-address")
    assert caught.value.message == "Could not acquire network: not-an-address"
    with pytest.raises(ServerError, match="unknown handle"):
        client.run("missing", "true")
    assert client.ping().ByteSize() == 0


def test_pipelined_requests_are_answered_in_order(server: WardenServer) -> None:
    with Client(server.socket_path) as client:
        handle = client.create().handle
    raw = RawConnection(server.socket_path)
    raw.send(
        request_to_wire(RunRequest(handle=handle, script="sleep 0.2; echo slow"))
        + request_to_wire(EchoRequest(message="fast"))
        + request_to_wire(SpawnRequest(handle=handle, script="echo spawned"))
        + request_to_wire(RunRequest(handle=handle, script="echo last"))
    )
    slow, fast, spawned, last = (raw.receive() for _ in range(4))
    raw.close()
    assert slow.stdout == b"slow\n"
    assert fast.message == "fast"
    assert spawned.job_id > 0
    assert last.stdout == b"last\n"


def test_twisted_client_pipelines_on_one_connection(
    server: WardenServer, reactor_thread: Any
) -> None:
    async def scenario() -> list[Any]:
        connection = await connect(reactor, server.socket_path)
        handle = (await connection.create()).handle
        results = await defer.gatherResults(
            [
                connection.run(handle, "sleep 0.2; echo 1"),
                connection.echo("2"),
                connection.run(handle, "echo 3"),
            ]
        )
        await connection.disconnect()
        return list(results)

    first, second, third = in_reactor(lambda: defer.ensureDeferred(scenario()))
    assert (first.stdout, second.message, third.stdout) == (b"1\n", "2", b"3\n")


def test_fifty_concurrent_clients(server: WardenServer, reactor_thread: Any) -> None:
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []

    def blocking(index: int) -> None:
        try:
            with Client(server.socket_path) as client:
                handle = client.create(timeout=60).handle
                results[index] = client.run(handle, f"echo {index}", timeout=60).stdout
                client.destroy(handle, timeout=60)
        except BaseException as error:
            errors.append(error)

    async def twisted_client(index: int) -> None:
        connection = await connect(reactor, server.socket_path)
        handle = (await connection.create()).handle
        results[index] = (await connection.run(handle, f"echo {index}")).stdout
        await connection.destroy(handle)
        await connection.disconnect()

    threads = [threading.Thread(target=blocking, args=(i,)) for i in range(25)]
    for thread in threads:
        thread.start()
    in_reactor(
        lambda: defer.gatherResults(
            [defer.ensureDeferred(twisted_client(i)) for i in range(25, 50)]
        ),
        # Fifty creates, runs and destroys at once: minutes on a loaded 2-core host.
        timeout=300,
    )
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert results == {i: f"{i}\n".encode() for i in range(50)}
    with Client(server.socket_path) as client:
        assert list(client.list().handles) == []


# -- grace timer (only connections that referenced a container keep it) --


def test_grace_timer(server: WardenServer) -> None:
    watcher = Client(server.socket_path)  # opened before the creates, lists only
    watcher.connect()
    owner = Client(server.socket_path)
    owner.connect()
    short = owner.create(grace_time=1).handle
    never = owner.create().handle  # server default in the tests: no grace time
    kept = owner.create(grace_time=1).handle
    with Client(server.socket_path) as friend:
        friend.info(kept)  # references it
        owner.disconnect()
        wait_for(lambda: short not in watcher.list().handles, what="the grace timer")
        assert set(watcher.list().handles) == {never, kept}
    wait_for(lambda: kept not in watcher.list().handles, what="the grace timer")
    assert list(watcher.list().handles) == [never]
    watcher.disconnect()


def test_server_default_grace_time(make_server: Callable[..., WardenServer]) -> None:
    server = make_server(server={"container_grace_time": 1}).start()
    with Client(server.socket_path) as owner:
        handle = owner.create().handle
        path = owner.info(handle).container_path
        owner.spawn(handle, "sleep 1000")
    with Client(server.socket_path) as client:
        # List leaves it out as soon as its destroy starts; the files go later.
        wait_for(lambda: not client.list().handles, what="the grace timer")
        wait_for(lambda: not os.path.exists(path), what="the destroy")


def test_reconnecting_cancels_the_grace_timer(make_server: Callable[..., WardenServer]) -> None:
    server = make_server().start()
    with Client(server.socket_path) as owner:
        handle = owner.create(grace_time=2).handle
    with Client(server.socket_path) as again:
        again.info(handle)  # referenced again before the timer fired
        short = again.create(grace_time=1).handle
    # Both timers are armed again now; the shorter one fires first.
    with Client(server.socket_path) as watcher:
        wait_for(lambda: short not in watcher.list().handles, what="the short grace timer")
        wait_for(lambda: handle not in watcher.list().handles, what="the grace timer")


@pytest.mark.parametrize("value", [0])
def test_grace_time_zero_destroys_at_once_after_disconnect(
    server: WardenServer, value: int
) -> None:
    with Client(server.socket_path) as owner:
        handle = owner.create(grace_time=value).handle
    with Client(server.socket_path) as watcher:
        wait_for(lambda: handle not in watcher.list().handles, what="the grace timer")


def test_requests_fed_one_byte_at_a_time(shared_server: WardenServer) -> None:
    wire = b"".join(request_to_wire(EchoRequest(message=text)) for text in ("one", "two", "three"))
    raw = RawConnection(shared_server.socket_path)
    for index in range(len(wire)):
        raw.send(wire[index : index + 1])
    assert [raw.receive().message for _ in range(3)] == ["one", "two", "three"]
    raw.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(garbage=st.binary(min_size=1, max_size=200), split=st.integers(min_value=0, max_value=200))
def test_garbage_never_harms_the_server(
    shared_server: WardenServer, garbage: bytes, split: int
) -> None:
    raw = RawConnection(shared_server.socket_path)
    try:
        raw.send(garbage[:split])
        raw.send(garbage[split:])
        raw.sock.shutdown(socket.SHUT_WR)
        for response in raw.responses():
            assert isinstance(response, ErrorResponse) or response.ByteSize() >= 0
    except OSError:
        pass  # the server may close first: that is fine
    finally:
        raw.close()
    with Client(shared_server.socket_path) as client:
        assert client.echo("alive", timeout=30).message == "alive"
