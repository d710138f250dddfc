"""The warm pool's scheduling on a ``MemoryReactorClock`` and fake scripts: one
refill at a time, refills wait for clients' creates, a take needs no script."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock, StringTransport

from warden.protocol import CreateRequest, CreateResponse, ErrorResponse, request_to_wire
from warden.server import Server
from warden.server._protocol import WardenConnection
from warden.server._warm_pool import REFILL_DELAY, REFILL_RETRY

from ._fakes import RecordingScripts, responses, unit_config


@pytest.fixture
def reactor() -> MemoryReactorClock:
    return MemoryReactorClock()


@pytest.fixture
def server(
    tmp_path: Path, reactor: MemoryReactorClock, scripts: RecordingScripts
) -> Iterator[Server]:
    # Room for three containers (networks, uids): a pool of 2 and one more.
    config = unit_config(tmp_path, container_pool_size=2)
    config = dataclasses.replace(
        config,
        network=dataclasses.replace(config.network, pool_network="10.253.0.0/28"),
        user=dataclasses.replace(config.user, pool_size=3),
    )
    server = Server(config, reactor, run_script=scripts)
    (tmp_path / "depot").mkdir()
    yield server
    server.context.jobs.watcher.close()


def connect(server: Server) -> tuple[WardenConnection, StringTransport]:
    transport = StringTransport()
    connection = WardenConnection(server)
    connection.makeConnection(transport)
    return connection, transport


def test_one_refill_at_a_time_until_full(server: Server, scripts: RecordingScripts) -> None:
    scripts.held.add("create.sh")
    server.warm_pool.refill()
    server.warm_pool.refill()  # one under way already: nothing more
    assert len(scripts.waiting) == 1
    scripts.release()
    assert len(server.warm_pool.idle) == 1
    assert len(scripts.waiting) == 1  # the next, only now
    scripts.release()
    assert len(server.warm_pool.idle) == 2
    assert scripts.waiting == []
    assert server.registry.handles() == []


def test_a_take_answers_without_a_script_and_the_refill_starts_after_the_takes(
    server: Server, reactor: MemoryReactorClock, scripts: RecordingScripts
) -> None:
    server.warm_pool.refill()
    assert len(server.warm_pool.idle) == 2
    calls = len(scripts.calls)
    connection, transport = connect(server)
    connection.dataReceived(request_to_wire(CreateRequest(handle="h", grace_time=7)))
    assert responses(transport.value()) == [CreateResponse(handle="h")]
    assert len(scripts.calls) == calls  # answered before any script ran
    assert server.registry.get("h").grace_time == 7
    reactor.advance(REFILL_DELAY / 2)
    connection.dataReceived(request_to_wire(CreateRequest(handle="i")))
    assert responses(transport.value())[-1] == CreateResponse(handle="i")
    reactor.advance(REFILL_DELAY / 2)
    assert len(scripts.calls) == calls  # the second take put the refill off
    reactor.advance(REFILL_DELAY / 2)
    assert scripts.names()[calls:] == ["create.sh"]
    assert len(server.warm_pool.idle) == 1  # room for three containers only


def test_refills_wait_for_clients_creates(
    server: Server, reactor: MemoryReactorClock, scripts: RecordingScripts
) -> None:
    scripts.held.add("create.sh")
    connection, transport = connect(server)
    # A network asked for: the normal path, whose create.sh is held.
    connection.dataReceived(request_to_wire(CreateRequest(handle="h", network="10.253.0.4")))
    assert len(scripts.waiting) == 1
    server.warm_pool.refill()
    reactor.advance(0)
    assert len(scripts.waiting) == 1  # the refill waits for the client's create
    scripts.release()
    assert responses(transport.value()) == [CreateResponse(handle="h")]
    assert len(scripts.waiting) == 1  # now the refill's
    scripts.release()
    assert len(server.warm_pool.idle) == 1
    assert len(scripts.waiting) == 1  # the pool's second


def test_a_failed_refill_is_tried_again_later(
    server: Server, reactor: MemoryReactorClock, scripts: RecordingScripts
) -> None:
    scripts.failing.add("create.sh")
    server.warm_pool.refill()
    assert server.warm_pool.idle == type(server.warm_pool.idle)()
    assert scripts.names() == ["create.sh", "destroy.sh"]
    scripts.failing.clear()
    reactor.advance(REFILL_RETRY)
    assert len(server.warm_pool.idle) == 2


def test_close_waits_for_the_refill_then_destroys_the_idle(
    server: Server, scripts: RecordingScripts
) -> None:
    scripts.held.add("create.sh")
    server.warm_pool.refill()
    closing = defer.ensureDeferred(server.shutdown())
    assert not closing.called
    scripts.release()
    assert closing.called
    assert scripts.names() == ["create.sh", "stop.sh", "destroy.sh"]
    assert len(server.warm_pool.idle) == 0
    server.warm_pool.refill()  # closed: nothing
    assert scripts.waiting == []


def test_a_take_with_the_pool_empty_takes_the_normal_path(
    server: Server, scripts: RecordingScripts
) -> None:
    connection, transport = connect(server)
    connection.dataReceived(request_to_wire(CreateRequest(handle="h")))
    assert responses(transport.value()) == [CreateResponse(handle="h")]
    connection.dataReceived(request_to_wire(CreateRequest(handle="h")))
    assert responses(transport.value())[-1] == ErrorResponse(
        message="container with handle: h already exists."
    )
