"""ContainerNetwork against the real scripts, iptables and tc in a private
namespace. The container around it is a stand-in with the surface
``NetworkedContainer`` names; its scripts run synchronously (so each Deferred
has fired when it is returned), with the server's own ScriptResult and
ScriptError, which keeps the reactor out of these tests. The real funnel and
the real Linux container are exercised by the server-level tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, TypeVar

import pytest
from _netns import HOST_OUTSIDE_IP, FakeContainer, World
from twisted.internet import defer
from twisted.python.failure import Failure

from warden.protocol import (
    InfoResponse,
    LimitBandwidthRequest,
    NetInRequest,
    NetOutRequest,
)
from warden.server._errors import WardenError
from warden.server._pools import PortPool
from warden.server._scripts import ScriptError, ScriptResult
from warden.server.linux._net import ContainerNetwork
from warden.server.linux._net_rules import UNLIMITED

T = TypeVar("T")

POOL_START = 61001


class StandIn:
    """The parts of a Linux container that ContainerNetwork uses."""

    def __init__(self, world: World, fake: FakeContainer, ports: PortPool) -> None:
        self.world = world
        self.fake = fake
        self.ports = ports
        self.resources: dict[str, Any] = {"ports": []}
        self.scripts_run: list[tuple[str, ...]] = []

    @property
    def container_id(self) -> str:
        return self.fake.id

    @property
    def container_path(self) -> str:
        return str(self.fake.path)

    @property
    def host_ip(self) -> str:
        return self.fake.host_ip

    @property
    def container_ip(self) -> str:
        return self.fake.container_ip

    def run_script(
        self, argv: Sequence[str], *, env: Mapping[str, object] | None = None
    ) -> defer.Deferred[ScriptResult]:
        self.scripts_run.append(tuple(argv))
        full_env = {**os.environ, **{k: str(v) for k, v in (env or {}).items()}}
        done = subprocess.run(
            self.world.host.argv(*argv), env=full_env, capture_output=True, check=False
        )
        result = ScriptResult(tuple(argv), done.returncode, done.stdout, done.stderr)
        if result.ok:
            return defer.succeed(result)
        return defer.fail(ScriptError("command exited with failure", result))

    def acquire_port(self) -> int:
        port = self.ports.acquire()
        self.resources["ports"].append(port)
        return port

    def release_port(self, port: int) -> None:
        if port in self.resources["ports"]:
            self.resources["ports"].remove(port)
        self.ports.release(port)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Drive a coroutine whose Deferreds have all fired; return or raise its outcome."""
    outcome: list[Any] = []
    defer.ensureDeferred(coroutine).addBoth(outcome.append)
    assert outcome, "the coroutine waited for something"
    if isinstance(outcome[0], Failure):
        outcome[0].raiseException()
    return outcome[0]  # type: ignore[no-any-return]


@pytest.fixture
def ports() -> PortPool:
    return PortPool(POOL_START, 1000)


def networked(world: World, ports: PortPool) -> tuple[StandIn, ContainerNetwork]:
    stand_in = StandIn(world, world.add_container(), ports)
    network = ContainerNetwork(stand_in)
    run(network.setup())
    return stand_in, network


def tcp_ok(world: World, namespace: str, address: str, port: int) -> bool:
    netns = world.host if namespace == "host" else world.outside
    return netns.probe("tcp", address, str(port)).returncode == 0


def test_net_in_takes_a_pool_port_and_maps_it(world: World, ports: PortPool) -> None:
    world.host_setup()
    stand_in, network = networked(world, ports)
    stand_in.fake.netns.serve("serve-tcp", stand_in.container_ip, str(POOL_START))

    response = run(network.net_in(NetInRequest(handle="h")))

    assert (response.host_port, response.container_port) == (POOL_START, POOL_START)
    assert stand_in.resources["ports"] == [POOL_START]
    assert stand_in.resources["net_in"] == [[POOL_START, POOL_START]]
    assert tcp_ok(world, "host", HOST_OUTSIDE_IP, POOL_START)
    assert tcp_ok(world, "outside", HOST_OUTSIDE_IP, POOL_START)


def test_net_in_with_requested_ports(world: World, ports: PortPool) -> None:
    world.host_setup()
    stand_in, network = networked(world, ports)
    stand_in.fake.netns.serve("serve-tcp", stand_in.container_ip, "8080")

    response = run(network.net_in(NetInRequest(handle="h", host_port=7000, container_port=8080)))
    assert (response.host_port, response.container_port) == (7000, 8080)
    same = run(network.net_in(NetInRequest(handle="h", container_port=8080)))
    assert (same.host_port, same.container_port) == (POOL_START, 8080)

    assert stand_in.resources["ports"] == [POOL_START]  # requested ports are not the pool's
    assert tcp_ok(world, "host", HOST_OUTSIDE_IP, 7000)
    assert tcp_ok(world, "host", HOST_OUTSIDE_IP, POOL_START)


def test_a_failed_net_in_returns_its_pool_port_once(world: World, ports: PortPool) -> None:
    world.host_setup()
    stand_in, network = networked(world, ports)
    world.host_teardown()  # the container's chains are gone: net.sh in fails
    size = len(ports)

    with pytest.raises(ScriptError) as caught:
        run(network.net_in(NetInRequest(handle="h")))

    assert caught.value.message == "command exited with failure"
    assert len(ports) == size + 1 - 1  # taken, then given back once
    assert POOL_START in ports
    assert stand_in.resources["ports"] == []
    assert stand_in.resources.get("net_in", []) == []
    # Releasing it again (a destroy) does not make a duplicate.
    ports.release(POOL_START)
    assert len(ports) == size


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"host_port": 0}, "Invalid host_port: 0 (expected 1 ... 65535)"),
        ({"container_port": 70000}, "Invalid container_port: 70000 (expected 1 ... 65535)"),
    ],
)
def test_net_in_refuses_non_ports(
    world: World, ports: PortPool, fields: dict[str, int], message: str
) -> None:
    world.host_setup()
    stand_in, network = networked(world, ports)
    before = len(stand_in.scripts_run)
    with pytest.raises(WardenError) as caught:
        run(network.net_in(NetInRequest(handle="h", **fields)))
    assert caught.value.message == message
    assert len(stand_in.scripts_run) == before
    assert len(ports) == 1000


def test_net_out_opens_what_it_names_and_records_it(world: World, ports: PortPool) -> None:
    world.host_setup()
    stand_in, network = networked(world, ports)
    world.outside.serve("serve-tcp", "0.0.0.0", "2000")
    world.outside.serve("serve-tcp", "0.0.0.0", "2001")
    client = stand_in.fake.netns

    run(network.net_out(NetOutRequest(handle="h", network="203.0.113.0/24", port=2000)))

    assert client.probe("tcp", "203.0.113.1", "2000").returncode == 0
    assert client.probe("tcp", "203.0.113.1", "2001").returncode == 1
    assert stand_in.resources["net_out"] == [["203.0.113.0/24", "2000", "tcp", None, None, None]]


def test_net_out_errors_run_nothing(world: World, ports: PortPool) -> None:
    world.host_setup()
    stand_in, network = networked(world, ports)
    before = len(stand_in.scripts_run)
    for request, message in [
        (NetOutRequest(handle="h"), "Please specify network, port, and/or port_range."),
        (NetOutRequest(handle="h", port_range="2002:2000"),
         "Port range maximum must be greater than minimum"),
        (NetOutRequest(handle="h", port=80, protocol=NetOutRequest.ICMP),
         "port and port_range apply to tcp and udp only, not to protocol icmp"),
    ]:  # fmt: skip
        with pytest.raises(WardenError) as caught:
            run(network.net_out(request))
        assert caught.value.message == message
    assert len(stand_in.scripts_run) == before
    assert "net_out" not in stand_in.resources


def test_bandwidth_limit_and_stat(world: World, ports: PortPool) -> None:
    world.host_setup()
    _stand_in, network = networked(world, ports)
    unlimited = InfoResponse.BandwidthStat(
        in_rate=UNLIMITED, in_burst=UNLIMITED, out_rate=UNLIMITED, out_burst=UNLIMITED
    )
    assert run(network.bandwidth_stat()) == unlimited

    limit = LimitBandwidthRequest(handle="h", rate=100_000, burst=1000)
    response = run(network.limit_bandwidth(limit))
    assert (response.rate, response.burst) == (100_000, 1000)
    assert run(network.bandwidth_stat()) == InfoResponse.BandwidthStat(
        in_rate=100_000, in_burst=1000, out_rate=100_000, out_burst=1000
    )
    run(network.limit_bandwidth(LimitBandwidthRequest(handle="h", rate=200_000, burst=2000)))
    assert run(network.bandwidth_stat()) == InfoResponse.BandwidthStat(
        in_rate=200_000, in_burst=2000, out_rate=200_000, out_burst=2000
    )


@pytest.mark.parametrize(
    ("rate", "burst", "message"),
    [
        (0, 1000, "rate must be greater than 0 (bytes per second)"),
        (1000, 0, "burst must be greater than 0 (bytes)"),
    ],
)
def test_bandwidth_limit_errors(
    world: World, ports: PortPool, rate: int, burst: int, message: str
) -> None:
    world.host_setup()
    _stand_in, network = networked(world, ports)
    with pytest.raises(WardenError) as caught:
        run(network.limit_bandwidth(LimitBandwidthRequest(handle="h", rate=rate, burst=burst)))
    assert caught.value.message == message


def test_restore_replays_net_in_and_net_out_after_a_restart(world: World, ports: PortPool) -> None:
    world.host_setup()
    stand_in, network = networked(world, ports)
    stand_in.fake.netns.serve("serve-tcp", stand_in.container_ip, "8080")
    world.outside.serve("serve-tcp", "0.0.0.0", "2000")
    run(network.net_in(NetInRequest(handle="h", host_port=7000, container_port=8080)))
    run(network.net_out(NetOutRequest(handle="h", network="203.0.113.1", port=2000)))
    run(network.limit_bandwidth(LimitBandwidthRequest(handle="h", rate=100_000, burst=10_000)))

    world.host_setup()  # the server restarts: every container chain is gone
    assert not tcp_ok(world, "host", HOST_OUTSIDE_IP, 7000)
    assert stand_in.fake.netns.probe("tcp", "203.0.113.1", "2000").returncode == 1

    # A new collaborator over the snapshot's resources, as after a restart.
    restored = ContainerNetwork(stand_in)
    run(restored.restore())

    assert tcp_ok(world, "host", HOST_OUTSIDE_IP, 7000)
    assert stand_in.fake.netns.probe("tcp", "203.0.113.1", "2000").returncode == 0
    assert run(restored.bandwidth_stat()).in_rate == 100_000
    # Restoring records nothing twice.
    assert len(stand_in.resources["net_in"]) == 1
    assert len(stand_in.resources["net_out"]) == 1


def test_teardown_leaves_the_host_as_before(world: World, ports: PortPool) -> None:
    world.host_setup()
    stand_in = StandIn(world, world.add_container(), ports)
    before = world.host.state()
    network = ContainerNetwork(stand_in)
    run(network.setup())
    run(network.net_in(NetInRequest(handle="h")))
    net_out = NetOutRequest(handle="h", network="10.1.0.0/16", port_range="1:9", log=True)
    run(network.net_out(net_out))
    run(network.limit_bandwidth(LimitBandwidthRequest(handle="h", rate=100_000, burst=10_000)))

    run(network.teardown())

    assert world.host.state() == before
    run(network.teardown())
    assert world.host.state() == before
