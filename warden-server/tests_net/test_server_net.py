"""Networking end to end: a real warden-server with the Linux backend in a
private namespace (the test world's host), real containers, traffic between
them, the host and the world's outside. Servers in a container run in its
network namespace (entered through its init); clients are container jobs
(bash's /dev/tcp) or probes there."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _netns import HOST_OUTSIDE_IP, REMOTE_IPS, World, make_world
from _server import PORT_POOL_START, TIMEOUT, ContainerNetns, NetServer, build_rootfs

from warden.client import Client, ServerError
from warden.protocol import NetOutRequest
from warden.server.testing import wait_for_destroys

UNLIMITED = 0xFFFFFFFF


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    build_rootfs()
    world = make_world(tmp_path_factory.mktemp("world"))
    try:
        yield world
    finally:
        world.close()


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[NetServer]:
    server = NetServer(world, Path(f"/tmp/warden-net-test-{world.tag}"))
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def client(server: NetServer) -> Iterator[Client]:
    with server.client() as client:
        yield client


class Made:
    """A container made for one test: its handle, addresses, namespace."""

    def __init__(self, client: Client, handle: str, world: World) -> None:
        info = client.info(handle, timeout=TIMEOUT)
        self.handle = handle
        self.host_ip = info.host_ip
        self.container_ip = info.container_ip
        self.path = Path(info.container_path)
        self.id = self.path.name
        self.netns = ContainerNetns(world.host, int((self.path / "run" / "init.pid").read_text()))


@pytest.fixture
def make(server: NetServer, world: World) -> Iterator[Callable[..., Made]]:
    made: list[Made] = []

    def create(**fields: Any) -> Made:
        with server.client() as client:
            handle = client.create(timeout=TIMEOUT, **fields).handle
            made.append(Made(client, handle, world))
        return made[-1]

    yield create
    with server.client() as client:
        for container in made:
            container.netns.close()
            try:
                client.destroy(container.handle, timeout=TIMEOUT)
            except ServerError as error:
                assert error.message == "unknown handle"
    world.host.stop_processes()
    world.outside.stop_processes()


def job_connects(client: Client, container: Made, address: str, port: int) -> bool:
    """A job in the container opens a TCP connection and reads the greeting."""
    script = f"timeout 5 bash -c 'exec 3<>/dev/tcp/{address}/{port}; head -n 1 <&3'"
    response = client.run(container.handle, script, timeout=TIMEOUT)
    return response.exit_status == 0 and response.stdout.startswith(b"ok")


def test_net_in_reaches_a_server_in_the_container(
    client: Client, world: World, make: Callable[..., Made]
) -> None:
    container = make()
    container.netns.serve("serve-tcp", container.container_ip, "8080")

    mapped = client.net_in(container.handle, container_port=8080, timeout=TIMEOUT)
    assert mapped.host_port >= PORT_POOL_START
    assert mapped.container_port == 8080
    # From the host's own namespace, and from outside through the host.
    assert world.host.probe("tcp", HOST_OUTSIDE_IP, str(mapped.host_port)).returncode == 0
    assert world.outside.probe("tcp", HOST_OUTSIDE_IP, str(mapped.host_port)).returncode == 0

    same = client.net_in(container.handle, host_port=9000, timeout=TIMEOUT)
    assert (same.host_port, same.container_port) == (9000, 9000)
    next_pool = client.net_in(container.handle, timeout=TIMEOUT)
    assert next_pool.host_port == next_pool.container_port == mapped.host_port + 1


def test_a_container_reaches_nothing_by_default(
    client: Client, world: World, make: Callable[..., Made]
) -> None:
    first, second = make(), make()
    second.netns.serve("serve-tcp", second.container_ip, "2000")
    world.host.serve("serve-tcp", "0.0.0.0", "7000")
    world.outside.serve("serve-tcp", "0.0.0.0", "2000")

    assert not job_connects(client, first, second.container_ip, 2000)
    assert not job_connects(client, first, first.host_ip, 7000)
    assert not job_connects(client, first, HOST_OUTSIDE_IP, 7000)
    assert not job_connects(client, first, REMOTE_IPS[0], 2000)
    # The host reaches its containers.
    assert world.host.probe("tcp", second.container_ip, "2000").returncode == 0


def test_net_out_opens_exactly_what_it_names(
    client: Client, world: World, make: Callable[..., Made]
) -> None:
    first, second = make(), make()
    for port in ("2000", "2001"):
        second.netns.serve("serve-tcp", second.container_ip, port)
    udp = second.netns.serve("serve-udp", second.container_ip, "2000")

    client.net_out(first.handle, network=second.container_ip, port=2000, timeout=TIMEOUT)

    assert job_connects(client, first, second.container_ip, 2000)
    assert not job_connects(client, first, second.container_ip, 2001)
    assert not job_connects(client, second, first.container_ip, 2000)
    # Not udp to the same port: the datagram sent first never arrives.
    client.run(first.handle, f"echo datagram > /dev/udp/{second.container_ip}/2000",
               timeout=TIMEOUT)  # fmt: skip
    world.host.probe("udp", second.container_ip, "2000", "marker")
    assert udp.read_line() == "marker"

    client.net_out(first.handle, network=second.container_ip, port=2000,
                   protocol=NetOutRequest.UDP, timeout=TIMEOUT)  # fmt: skip
    client.run(first.handle, f"echo datagram > /dev/udp/{second.container_ip}/2000",
               timeout=TIMEOUT)  # fmt: skip
    assert udp.read_line() == "datagram"

    assert first.netns.probe("ping", second.container_ip).returncode == 1
    client.net_out(first.handle, network=second.container_ip, protocol=NetOutRequest.ICMP,
                   icmp_type=8, icmp_code=-1, timeout=TIMEOUT)  # fmt: skip
    assert first.netns.probe("ping", second.container_ip).returncode == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Please specify network, port, and/or port_range."),
        ({"port_range": "2002:2000"}, "Port range maximum must be greater than minimum"),
        ({"port": 80, "protocol": NetOutRequest.ICMP},
         "port and port_range apply to tcp and udp only, not to protocol icmp"),
        ({"network": "example.com"}, "Invalid network: example.com"),
    ],
)  # fmt: skip
def test_net_out_errors(
    client: Client, make: Callable[..., Made], fields: dict[str, Any], message: str
) -> None:
    container = make()
    with pytest.raises(ServerError) as caught:
        client.net_out(container.handle, timeout=TIMEOUT, **fields)
    assert caught.value.message.startswith(message)


def test_a_failed_net_in_gives_its_port_back(
    client: Client, world: World, make: Callable[..., Made]
) -> None:
    container = make()
    # Break the container's nat chain behind the server's back (the first
    # NetIn hooks it from warden-prerouting and fails when it is gone).
    world.host.run("iptables", "-w", "-t", "nat", "-X", f"warden-i-{container.id}")

    with pytest.raises(ServerError) as caught:
        client.net_in(container.handle, timeout=TIMEOUT)
    assert caught.value.message == "command exited with failure"
    resources = json.loads((container.path / "snapshot.json").read_text())["resources"]
    assert resources["ports"] == []
    assert resources.get("net_in", []) == []


def test_limit_bandwidth_info_and_rate(
    client: Client, world: World, make: Callable[..., Made]
) -> None:
    container = make()
    stat = client.info(container.handle, timeout=TIMEOUT).bandwidth_stat
    assert (stat.in_rate, stat.in_burst, stat.out_rate, stat.out_burst) == (UNLIMITED,) * 4

    rate = 1_000_000
    limited = client.limit_bandwidth(container.handle, rate, 65536, timeout=TIMEOUT)
    assert (limited.rate, limited.burst) == (rate, 65536)
    stat = client.info(container.handle, timeout=TIMEOUT).bandwidth_stat
    assert (stat.in_rate, stat.in_burst, stat.out_rate, stat.out_burst) == (
        rate, 65536, rate, 65536,
    )  # fmt: skip

    volume = 3 * rate
    container.netns.serve("serve-source", container.container_ip, "9000", str(volume))
    received, seconds = world.host.probe("sink", container.container_ip, "9000").stdout.split()
    assert int(received) == volume
    assert 0.5 * rate <= volume / float(seconds) <= 1.5 * rate


def test_create_with_a_network(client: Client, world: World, make: Callable[..., Made]) -> None:
    container = make(network="10.254.0.201")
    assert (container.host_ip, container.container_ip) == ("10.254.0.201", "10.254.0.202")
    container.netns.serve("serve-tcp", container.container_ip, "2000")
    assert world.host.probe("tcp", container.container_ip, "2000").returncode == 0

    with pytest.raises(ServerError) as caught:
        make(network="10.254.0.203")
    assert caught.value.message == "Could not acquire network: 10.254.0.200"


def test_rules_survive_a_restart_and_follow_the_configuration(
    server: NetServer, world: World, make: Callable[..., Made]
) -> None:
    first, second = make(), make()
    first.netns.serve("serve-tcp", first.container_ip, "8080")
    second.netns.serve("serve-tcp", second.container_ip, "2000")
    world.host.serve("serve-tcp", "0.0.0.0", "7000")
    world.outside.serve("serve-tcp", "0.0.0.0", "2000")
    with server.client() as client:
        client.net_in(first.handle, host_port=9100, container_port=8080, timeout=TIMEOUT)
        client.net_out(first.handle, network=second.container_ip, port=2000, timeout=TIMEOUT)
        client.limit_bandwidth(first.handle, 500_000, 20_000, timeout=TIMEOUT)

    try:
        server.restart(
            allow_host_access=True,
            allow_networks=["203.0.113.0/24"],
            deny_networks=[REMOTE_IPS[1]],
        )
        with server.client() as client:
            # What was granted before the restart still works...
            assert world.outside.probe("tcp", HOST_OUTSIDE_IP, "9100").returncode == 0
            assert job_connects(client, first, second.container_ip, 2000)
            assert client.info(first.handle, timeout=TIMEOUT).bandwidth_stat.in_rate == 500_000
            # ... and the new configuration applies.
            assert job_connects(client, first, first.host_ip, 7000)
            greeting = first.netns.probe("tcp", REMOTE_IPS[0], "2000")
            assert greeting.stdout.split() == ["ok", HOST_OUTSIDE_IP]  # masqueraded
            client.net_out(first.handle, network=REMOTE_IPS[1], port=2000, timeout=TIMEOUT)
            assert not job_connects(client, first, REMOTE_IPS[1], 2000)  # denied
    finally:
        server.restart()
    with server.client() as client:
        assert not job_connects(client, first, first.host_ip, 7000)
        assert not job_connects(client, first, REMOTE_IPS[0], 2000)


def test_destroy_and_twenty_cycles_leave_the_namespace_as_before(
    server: NetServer, world: World
) -> None:
    before = world.host.state()
    with server.client() as client:
        for cycle in range(20):
            handle = client.create(timeout=TIMEOUT).handle
            client.net_in(handle, timeout=TIMEOUT)
            client.net_out(handle, network="203.0.113.0/24", port_range="80:90", log=True,
                           timeout=TIMEOUT)  # fmt: skip
            if cycle % 5 == 0:
                client.limit_bandwidth(handle, 1_000_000, 10_000, timeout=TIMEOUT)
            assert world.host.state() != before
            client.destroy(handle, timeout=TIMEOUT)
            wait_for_destroys(server)  # the firewall and the ifb go after the answer
            assert world.host.state() == before, f"cycle {cycle}"


def test_a_restart_keeps_the_hosts_own_rules(server: NetServer, world: World) -> None:
    def rules() -> list[str]:
        tables = ("filter", "nat")
        return sorted(
            line for table in tables
            for line in world.host.run("iptables", "-w", "-t", table, "-S").stdout.splitlines()
        )  # fmt: skip

    world.host.run("iptables", "-w", "-I", "INPUT", "1", "-p", "tcp", "--dport", "22",
                   "-j", "ACCEPT")  # fmt: skip
    try:
        before = rules()
        server.restart()
        assert rules() == before
        assert "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT" in before
    finally:
        world.host.run("iptables", "-w", "-D", "INPUT", "-p", "tcp", "--dport", "22",
                       "-j", "ACCEPT")  # fmt: skip
