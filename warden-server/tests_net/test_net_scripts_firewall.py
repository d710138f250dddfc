"""The host firewall (root-scripts/linux/net.sh) and one container's rules
(skeleton/net.sh), driven by hand as the server will drive them, checked with
real traffic between private namespaces."""

from __future__ import annotations

import pytest
from _netns import (
    HOST_NET_SH,
    HOST_OUTSIDE_IP,
    REMOTE_IPS,
    FakeContainer,
    Netns,
    ProbeServer,
    World,
)


def tcp_ok(client: Netns, address: str, port: int) -> bool:
    return client.probe("tcp", address, str(port)).returncode == 0


def ping_ok(client: Netns, address: str, icmp_type: int = 8, code: int = 0) -> bool:
    return client.probe("ping", address, str(icmp_type), str(code)).returncode == 0


def udp_delivered(
    client: Netns, server: ProbeServer, marker_sender: Netns, address: str, port: int
) -> bool:
    """Send a datagram from `client`, then a marker over a path that is always
    open; the datagram arrived when the server printed it before the marker."""
    client.probe("udp", address, str(port), "datagram", check=True)
    marker_sender.probe("udp", address, str(port), "marker", check=True)
    first = server.read_line()
    if first == "datagram":
        assert server.read_line() == "marker"
        return True
    assert first == "marker"
    return False


def started(world: World, **host_options: object) -> tuple[FakeContainer, FakeContainer]:
    world.host_setup(**host_options)  # type: ignore[arg-type]
    first, second = world.add_container(), world.add_container()
    world.net(first, "setup")
    world.net(second, "setup")
    return first, second


def test_a_container_reaches_the_host_only_when_allowed(world: World) -> None:
    world.host.serve("serve-tcp", "0.0.0.0", "7000")
    container, _ = started(world)
    assert not tcp_ok(container.netns, container.host_ip, 7000)
    assert not tcp_ok(container.netns, HOST_OUTSIDE_IP, 7000)
    assert not ping_ok(container.netns, container.host_ip)
    # NetOut does not open the host either.
    world.net(container, "out", NETWORK=container.host_ip, PROTOCOL="all")
    assert not tcp_ok(container.netns, container.host_ip, 7000)
    # The host still reaches the container, and gets its answers.
    assert ping_ok(world.host, container.container_ip)

    world.host_setup(allow_host_access=True)
    world.net(container, "setup")
    assert tcp_ok(container.netns, container.host_ip, 7000)
    assert tcp_ok(container.netns, HOST_OUTSIDE_IP, 7000)
    assert ping_ok(container.netns, container.host_ip)


def test_containers_cannot_reach_each_other_by_default(world: World) -> None:
    first, second = started(world)
    second.netns.serve("serve-tcp", second.container_ip, "2000")
    udp = second.netns.serve("serve-udp", second.container_ip, "2000")
    assert not tcp_ok(first.netns, second.container_ip, 2000)
    assert not udp_delivered(first.netns, udp, world.host, second.container_ip, 2000)
    assert not ping_ok(first.netns, second.container_ip)
    # Nor anything outside the host.
    world.outside.serve("serve-tcp", "0.0.0.0", "2000")
    assert not tcp_ok(first.netns, REMOTE_IPS[0], 2000)
    assert not ping_ok(first.netns, REMOTE_IPS[0])


def test_net_out_tcp_opens_exactly_the_named_port(world: World) -> None:
    first, second = started(world)
    for port in ("2000", "2001"):
        second.netns.serve("serve-tcp", second.container_ip, port)
    udp = second.netns.serve("serve-udp", second.container_ip, "2000")

    world.net(first, "out", NETWORK=second.container_ip, PORTS="2000", PROTOCOL="tcp")

    assert tcp_ok(first.netns, second.container_ip, 2000)
    assert not tcp_ok(first.netns, second.container_ip, 2001)
    assert not udp_delivered(first.netns, udp, world.host, second.container_ip, 2000)
    assert not ping_ok(first.netns, second.container_ip)
    # Only in that direction, and only for that container.
    first.netns.serve("serve-tcp", first.container_ip, "2000")
    assert not tcp_ok(second.netns, first.container_ip, 2000)


def test_net_out_udp(world: World) -> None:
    first, second = started(world)
    udp_2000 = second.netns.serve("serve-udp", second.container_ip, "2000")
    udp_2001 = second.netns.serve("serve-udp", second.container_ip, "2001")
    second.netns.serve("serve-tcp", second.container_ip, "2000")

    world.net(first, "out", NETWORK=second.container_ip, PORTS="2000", PROTOCOL="udp")

    assert udp_delivered(first.netns, udp_2000, world.host, second.container_ip, 2000)
    assert not udp_delivered(first.netns, udp_2001, world.host, second.container_ip, 2001)
    assert not tcp_ok(first.netns, second.container_ip, 2000)


def test_net_out_icmp_type_and_code(world: World) -> None:
    first, second = started(world)
    third = world.add_container()
    world.net(third, "setup")

    # Echo reply is not echo request; a bogus code is not code 0.
    world.net(first, "out", NETWORK=second.container_ip, PROTOCOL="icmp", ICMP_TYPE="0")
    world.net(
        first, "out", NETWORK=third.container_ip, PROTOCOL="icmp", ICMP_TYPE="8", ICMP_CODE="8"
    )
    assert not ping_ok(first.netns, second.container_ip)
    assert not ping_ok(first.netns, third.container_ip)

    world.net(
        first, "out", NETWORK=second.container_ip, PROTOCOL="icmp", ICMP_TYPE="8", ICMP_CODE="0"
    )
    world.net(first, "out", NETWORK=third.container_ip, PROTOCOL="icmp")
    assert ping_ok(first.netns, second.container_ip)
    assert ping_ok(first.netns, third.container_ip)
    # ICMP does not open TCP.
    second.netns.serve("serve-tcp", second.container_ip, "2000")
    assert not tcp_ok(first.netns, second.container_ip, 2000)


def test_net_out_all_protocols(world: World) -> None:
    first, second = started(world)
    second.netns.serve("serve-tcp", second.container_ip, "2000")
    second.netns.serve("serve-tcp", second.container_ip, "2001")
    udp = second.netns.serve("serve-udp", second.container_ip, "2002")

    world.net(first, "out", NETWORK=second.container_ip, PROTOCOL="all")

    assert tcp_ok(first.netns, second.container_ip, 2000)
    assert tcp_ok(first.netns, second.container_ip, 2001)
    assert udp_delivered(first.netns, udp, world.host, second.container_ip, 2002)
    assert ping_ok(first.netns, second.container_ip)


def test_net_out_port_range_cidr_and_address_range(world: World) -> None:
    first, second = started(world)
    third = world.add_container()
    world.net(third, "setup")
    for port in ("1999", "2000", "2001", "2002", "2003"):
        second.netns.serve("serve-tcp", second.container_ip, port)
    third.netns.serve("serve-tcp", third.container_ip, "2000")
    third.netns.serve("serve-tcp", third.container_ip, "3000")

    world.net(first, "out", NETWORK=f"{second.container_ip}/30", PORTS="2000:2002")
    assert [
        tcp_ok(first.netns, second.container_ip, port) for port in (1999, 2000, 2001, 2002, 2003)
    ] == [False, True, True, True, False]
    assert not tcp_ok(first.netns, third.container_ip, 2000)

    world.net(first, "out", NETWORK=f"{second.host_ip}-{third.container_ip}", PORTS="3000")
    assert tcp_ok(first.netns, third.container_ip, 3000)

    # Without a network: the port everywhere (but not the host).
    world.outside.serve("serve-tcp", "0.0.0.0", "4000")
    world.net(first, "out", PORTS="4000")
    assert tcp_ok(first.netns, REMOTE_IPS[0], 4000)


def test_net_out_log_still_allows(world: World) -> None:
    first, second = started(world)
    second.netns.serve("serve-tcp", second.container_ip, "2000")
    world.net(first, "out", NETWORK=second.container_ip, PORTS="2000", LOG="true")
    assert tcp_ok(first.netns, second.container_ip, 2000)
    rules = world.host.run("iptables", "-w", "-S", f"warden-i-{first.id}-log").stdout
    assert f'--log-prefix "warden-i-{first.id} "' in rules


def test_allow_networks_are_reached_masqueraded(world: World) -> None:
    container, _ = started(world, allow_networks=[f"{REMOTE_IPS[0]}/32"])
    world.outside.serve("serve-tcp", "0.0.0.0", "2000")

    greeting = container.netns.probe("tcp", REMOTE_IPS[0], "2000")
    assert greeting.returncode == 0
    assert greeting.stdout.split() == ["ok", HOST_OUTSIDE_IP]  # masqueraded
    assert not tcp_ok(container.netns, REMOTE_IPS[1], 2000)


def test_deny_networks_win_over_allow_networks_and_net_out(world: World) -> None:
    container, _ = started(
        world, allow_networks=["203.0.113.0/24"], deny_networks=[f"{REMOTE_IPS[1]}/32"]
    )
    world.outside.serve("serve-tcp", "0.0.0.0", "2000")
    world.net(container, "out", NETWORK=REMOTE_IPS[1], PROTOCOL="all")

    assert tcp_ok(container.netns, REMOTE_IPS[0], 2000)
    assert not tcp_ok(container.netns, REMOTE_IPS[1], 2000)
    assert not ping_ok(container.netns, REMOTE_IPS[1])


def test_net_in_from_the_host_and_from_outside(world: World) -> None:
    container, other = started(world)
    container.netns.serve("serve-tcp", container.container_ip, "8080")
    world.net(container, "in", HOST_PORT="61001", CONTAINER_PORT="8080")

    # From the host itself, to any of its addresses but loopback.
    assert tcp_ok(world.host, HOST_OUTSIDE_IP, 61001)
    assert tcp_ok(world.host, container.host_ip, 61001)
    assert not tcp_ok(world.host, "127.0.0.1", 61001)
    # From outside, through the host's address.
    greeting = world.outside.probe("tcp", HOST_OUTSIDE_IP, "61001")
    assert greeting.returncode == 0
    # Other ports stay closed, and another container is not let in by NetIn.
    assert not tcp_ok(world.outside, HOST_OUTSIDE_IP, 61002)
    assert not tcp_ok(other.netns, HOST_OUTSIDE_IP, 61001)


def test_net_in_works_on_a_host_that_drops_forwarded_traffic(world: World) -> None:
    world.host.run("iptables", "-w", "-P", "FORWARD", "DROP")
    try:
        container, _ = started(world, allow_networks=[f"{REMOTE_IPS[0]}/32"])
        container.netns.serve("serve-tcp", container.container_ip, "8080")
        world.outside.serve("serve-tcp", "0.0.0.0", "2000")
        world.net(container, "in", HOST_PORT="61001", CONTAINER_PORT="8080")

        assert tcp_ok(world.outside, HOST_OUTSIDE_IP, 61001)
        assert tcp_ok(container.netns, REMOTE_IPS[0], 2000)
    finally:
        world.host.run("iptables", "-w", "-P", "FORWARD", "ACCEPT")


def test_rules_are_rebuilt_after_a_restart(world: World) -> None:
    first, second = started(world)
    second.netns.serve("serve-tcp", second.container_ip, "2000")
    world.net(first, "out", NETWORK=second.container_ip, PORTS="2000")
    assert tcp_ok(first.netns, second.container_ip, 2000)

    # A server restart: host setup drops every container chain...
    world.host_setup()
    assert not tcp_ok(first.netns, second.container_ip, 2000)
    # ... and restore re-creates them and replays the records.
    for container in (first, second):
        world.net(container, "setup")
    world.net(first, "out", NETWORK=second.container_ip, PORTS="2000")
    assert tcp_ok(first.netns, second.container_ip, 2000)


@pytest.mark.parametrize(
    ("command", "env", "message"),
    [
        ("in", {"CONTAINER_PORT": "80"}, "net.sh in: Please specify HOST_PORT..."),
        ("in", {"HOST_PORT": "80"}, "net.sh in: Please specify CONTAINER_PORT..."),
        ("in", {"HOST_PORT": "80", "CONTAINER_PORT": "x"}, "CONTAINER_PORT is not a port: x"),
        ("in", {"HOST_PORT": "65536", "CONTAINER_PORT": "80"}, "HOST_PORT is not a port: 65536"),
        ("out", {}, "net.sh out: Please specify NETWORK and/or PORTS..."),
        ("out", {"PROTOCOL": "sctp", "PORTS": "1"}, "Unknown PROTOCOL: sctp"),
        ("out", {"PROTOCOL": "icmp", "PORTS": "1"}, "PORTS needs PROTOCOL tcp or udp"),
        ("out", {"PROTOCOL": "all", "PORTS": "1"}, "PORTS needs PROTOCOL tcp or udp"),
        ("bogus", {}, "net.sh bogus: Unknown command: bogus"),
    ],
)
def test_script_errors_name_what_is_wrong(
    world: World, command: str, env: dict[str, str], message: str
) -> None:
    container, _ = started(world)
    before = world.host.state()
    result = world.net(container, command, check=False, **env)
    assert result.returncode == 1
    assert message in result.stderr
    assert world.host.state() == before


def test_per_container_setup_needs_the_host_chains(world: World) -> None:
    container = world.add_container()
    result = world.net(container, "setup", check=False)
    assert result.returncode == 1
    assert "net.sh setup: the host chains (warden-forward" in result.stderr
    assert world.host.run("iptables", "-w", "-S").stdout.count("warden") == 0


def test_host_setup_needs_the_pool_network(world: World) -> None:
    result = world.host.run(str(HOST_NET_SH), "setup", env={"POOL_NETWORK": ""}, check=False)
    assert result.returncode == 1
    assert "net.sh setup: Please specify POOL_NETWORK..." in result.stderr
