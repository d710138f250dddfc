"""The server on a ``MemoryReactorClock`` and fake scripts: drain, snapshots, grace timers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from twisted.internet.testing import MemoryReactorClock, StringTransport

from warden.protocol import (
    CreateRequest,
    CreateResponse,
    ErrorResponse,
    InfoRequest,
    request_to_wire,
)
from warden.server import Server
from warden.server._protocol import WardenConnection

from ._fakes import RecordingScripts, responses, unit_config


@pytest.fixture
def reactor() -> MemoryReactorClock:
    return MemoryReactorClock()


@pytest.fixture
def server(
    tmp_path: Path, reactor: MemoryReactorClock, scripts: RecordingScripts
) -> Iterator[Server]:
    server = Server(unit_config(tmp_path), reactor, run_script=scripts)
    yield server
    server.context.jobs.watcher.close()


def connect(server: Server) -> tuple[WardenConnection, StringTransport]:
    transport = StringTransport()
    connection = WardenConnection(server)
    connection.makeConnection(transport)
    return connection, transport


def create(connection: WardenConnection, transport: StringTransport, handle: str) -> None:
    connection.dataReceived(request_to_wire(CreateRequest(handle=handle)))
    assert responses(transport.value())[-1] == CreateResponse(handle=handle)


def snapshot(server: Server, handle: str) -> dict[str, object]:
    path = Path(server.registry.get(handle).container_path, "snapshot.json")
    data: dict[str, object] = json.loads(path.read_text())
    return data


def test_requests_reach_containers_and_unknown_handles_are_refused(server: Server) -> None:
    connection, transport = connect(server)
    create(connection, transport, "h")
    assert server.registry.handles() == ["h"]
    connection.dataReceived(request_to_wire(InfoRequest(handle="nope")))
    server.reactor.advance(0)
    assert responses(transport.value())[-1] == ErrorResponse(message="unknown handle")


def test_drain_closes_idle_connections_then_writes_every_snapshot(
    server: Server, reactor: MemoryReactorClock
) -> None:
    connection, transport = connect(server)
    create(connection, transport, "h")
    Path(server.registry.get("h").container_path, "snapshot.json").unlink()
    server.drain()
    assert transport.disconnecting
    assert not server.drained.called  # not before the connection has gone
    connection.connectionLost()
    assert server.drained.called
    assert snapshot(server, "h")["state"] == "active"
    server.drain()  # a second drain does nothing


def test_drain_waits_for_a_create_in_flight(
    server: Server, reactor: MemoryReactorClock, scripts: RecordingScripts
) -> None:
    scripts.held.add("create.sh")
    connection, transport = connect(server)
    connection.dataReceived(request_to_wire(CreateRequest(handle="h")))
    server.drain()
    assert not transport.disconnecting
    scripts.release()
    assert responses(transport.value()) == [CreateResponse(handle="h")]
    assert transport.disconnecting
    connection.connectionLost()
    assert server.drained.called
    assert snapshot(server, "h")["state"] == "active"


def test_a_lost_connection_starts_the_grace_timer(
    server: Server, reactor: MemoryReactorClock, scripts: RecordingScripts
) -> None:
    creator, creator_transport = connect(server)
    create(creator, creator_transport, "h")
    other, _ = connect(server)
    other.dataReceived(request_to_wire(InfoRequest(handle="h")))  # now also referenced
    creator.connectionLost()
    reactor.advance(100)
    assert server.registry.handles() == ["h"]
    other.connectionLost()
    reactor.advance(29)
    assert server.registry.handles() == ["h"]
    reactor.advance(1)
    assert server.registry.handles() == []
    assert scripts.names() == ["create.sh", "stop.sh", "destroy.sh"]


def test_an_idle_connection_keeps_nothing_alive(
    server: Server, reactor: MemoryReactorClock
) -> None:
    creator, transport = connect(server)
    create(creator, transport, "h")
    connect(server)  # connected, never named h
    creator.connectionLost()
    reactor.advance(30)
    assert server.registry.handles() == []
