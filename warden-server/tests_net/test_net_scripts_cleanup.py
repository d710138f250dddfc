"""Teardown leaves the host namespace exactly as it found it, and setup can be
repeated (a server restart) without duplicating anything."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from _netns import HOST_NET_SH, ROOT_SCRIPTS, World


def add_host_rules(world: World) -> None:
    """Rules a host has before warden arrives; warden must leave them alone."""
    run = world.host.run
    run("iptables", "-w", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT")
    run("iptables", "-w", "-A", "FORWARD", "-i", "wnhost", "-j", "ACCEPT")
    run("iptables", "-w", "-N", "host-chain")
    run("iptables", "-w", "-A", "host-chain", "-j", "RETURN")
    run(
        "iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-s", "192.0.2.0/24", "-j", "MASQUERADE"
    )


def full_container_cycle(world: World) -> None:
    container = world.add_container()
    world.net(container, "setup")
    world.net(container, "in", HOST_PORT="61001", CONTAINER_PORT="8080")
    world.net(container, "out", NETWORK="203.0.113.0/24", PORTS="80:90", LOG="true")
    world.net(container, "out", NETWORK="10.0.0.1-10.0.0.9", PROTOCOL="icmp", ICMP_TYPE="8")
    world.net_rate(container, 800_000, 10_000)
    world.net(container, "teardown")
    world.remove_container(container)


def test_host_setup_is_idempotent_and_teardown_restores_everything(world: World) -> None:
    add_host_rules(world)
    before = world.host.state()

    world.host_setup(allow_networks=["192.0.2.0/24"], deny_networks=["198.51.100.7"])
    once = world.host.state()
    world.host_setup(allow_networks=["192.0.2.0/24"], deny_networks=["198.51.100.7"])
    assert world.host.state() == once
    # The host's own rules are still there, once each.
    rules = world.host.run("iptables", "-w", "-S").stdout
    assert rules.count("--dport 22 -j ACCEPT") == 1
    assert rules.count("-N host-chain") == 1

    world.host_teardown()
    assert world.host.state() == before
    world.host_teardown()  # nothing left to remove is fine
    assert world.host.state() == before


def test_container_teardown_removes_every_rule_chain_qdisc_and_interface(world: World) -> None:
    add_host_rules(world)
    world.host_setup()
    container = world.add_container()
    other = world.add_container()
    world.net(other, "setup")
    world.net(other, "in", HOST_PORT="61002", CONTAINER_PORT="80")
    before = world.host.state()

    world.net(container, "setup")
    world.net(container, "in", HOST_PORT="61001", CONTAINER_PORT="8080")
    world.net(container, "out", NETWORK="203.0.113.0/24", PORTS="80:90", LOG="true")
    world.net_rate(container, 800_000, 10_000)
    assert world.host.state() != before
    world.net(container, "teardown")

    assert world.host.state() == before
    world.net(container, "teardown")  # twice is harmless
    assert world.host.state() == before


def test_twenty_cycles_leave_the_namespace_as_it_was(world: World) -> None:
    add_host_rules(world)
    before = world.host.state()
    world.host_setup(allow_networks=["192.0.2.0/24"])
    set_up = world.host.state()
    for _ in range(20):
        full_container_cycle(world)
    assert world.host.state() == set_up
    for _ in range(20):
        world.host_setup(allow_networks=["192.0.2.0/24"])
        full_container_cycle(world)
        world.host_teardown()
    assert world.host.state() == before


def test_restart_with_running_containers_keeps_one_copy_of_each_rule(world: World) -> None:
    world.host_setup()
    containers = [world.add_container() for _ in range(3)]
    for container in containers:
        world.net(container, "setup")
    running = world.host.state()

    for _ in range(3):  # restarts: host setup, then restore's per-container setup
        world.host.run(str(HOST_NET_SH), "setup", env={"POOL_NETWORK": "10.254.0.0/22"})
        for container in containers:
            world.net(container, "setup")
    assert world.host.state() == running


def counting_iptables_save(directory: Path) -> tuple[str, Path]:
    """A PATH whose ``iptables-save`` logs each call, then runs the real one; the log."""
    log = directory / "iptables-save.calls"
    real = shutil.which("iptables-save")
    assert real is not None
    wrapper = directory / "iptables-save"
    wrapper.write_text(f'#!/bin/bash\necho "$*" >> {log}\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    return f"{directory}:{os.environ['PATH']}", log


def dumps(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_setup_and_teardown_read_no_table_unless_something_was_left(
    world: World, tmp_path: Path
) -> None:
    path, log = counting_iptables_save(tmp_path)
    world.host_setup()
    others = [world.add_container() for _ in range(2)]
    for other in others:
        world.net(other, "setup")
    before = world.host.state()
    container = world.add_container()

    # The usual create and destroy: no dump of the tables is read.
    world.net(container, "setup", PATH=path)
    made = world.host.state()
    world.net(container, "teardown", PATH=path)
    assert dumps(log) == 0
    assert world.host.state()["iptables filter"] == before["iptables filter"]
    assert world.host.state()["iptables nat"] == before["iptables nat"]

    # The same with NetIns: the first hooks the nat chain, teardown unhooks it.
    world.net(container, "setup", PATH=path)
    world.net(container, "in", HOST_PORT="61001", CONTAINER_PORT="8080", PATH=path)
    world.net(container, "in", HOST_PORT="61002", CONTAINER_PORT="8081", PATH=path)
    nat = world.host.run("iptables", "-w", "-t", "nat", "-S").stdout
    assert nat.count(f"-j warden-i-{container.id}\n") == 1
    assert nat.count(f"-A warden-i-{container.id} ") == 2
    world.net(container, "teardown", PATH=path)
    assert dumps(log) == 0
    assert world.host.state()["iptables filter"] == before["iptables filter"]
    assert world.host.state()["iptables nat"] == before["iptables nat"]

    # A create that failed part way left a chain: setup plans from the dumps
    # and ends as a clean setup does. Left in the nat table only, the filter
    # part of the new-chains transaction has been made when the nat part fails.
    world.host.run("iptables", "-w", "-t", "nat", "-N", f"warden-i-{container.id}")
    world.net(container, "setup", PATH=path)
    assert dumps(log) > 0
    assert world.host.state() == made
    # And in the filter table.
    world.net(container, "teardown")
    world.host.run("iptables", "-w", "-N", f"warden-i-{container.id}-log")
    seen = dumps(log)
    world.net(container, "setup", PATH=path)
    assert dumps(log) > seen
    assert world.host.state() == made

    # A restore after a restart that left the chains (setup again, the NetIns
    # then replayed): the NetIns' rules and hook are dropped, then made again.
    world.net(container, "in", HOST_PORT="61001", CONTAINER_PORT="8080")
    seen = dumps(log)
    world.net(container, "setup", PATH=path)
    assert dumps(log) > seen
    assert world.host.state() == made
    world.net(container, "in", HOST_PORT="61001", CONTAINER_PORT="8080")
    hooked = world.host.run("iptables", "-w", "-t", "nat", "-S").stdout
    assert hooked.count(f"-j warden-i-{container.id}\n") == 1
    world.net(container, "setup")
    world.net(container, "in", HOST_PORT="61001", CONTAINER_PORT="8080")
    assert world.host.run("iptables", "-w", "-t", "nat", "-S").stdout == hooked

    # A chain gone already: teardown plans from the dumps and removes the rest.
    world.host.run(
        "iptables", "-w", "-t", "nat", "-D", "warden-prerouting", "-j", f"warden-i-{container.id}"
    )
    world.host.run("iptables", "-w", "-t", "nat", "-F", f"warden-i-{container.id}")
    world.host.run("iptables", "-w", "-t", "nat", "-X", f"warden-i-{container.id}")
    seen = dumps(log)
    world.net(container, "teardown", PATH=path)
    assert dumps(log) > seen
    assert world.host.state()["iptables filter"] == before["iptables filter"]
    assert world.host.state()["iptables nat"] == before["iptables nat"]


def test_a_restart_drops_the_nat_hook_and_the_first_net_in_makes_it_again(
    world: World,
) -> None:
    # The host's setup (a server restart) drops every container chain; the
    # container's setup makes them anew, its NetIns are replayed.
    world.host_setup()
    container = world.add_container()
    world.net(container, "setup")
    world.net(container, "in", HOST_PORT="61001", CONTAINER_PORT="8080")
    made = world.host.state()
    world.host_setup()
    world.net(container, "setup")
    world.net(container, "in", HOST_PORT="61001", CONTAINER_PORT="8080")
    assert world.host.state() == made
    world.net(container, "teardown")
    nat = world.host.run("iptables", "-w", "-t", "nat", "-S").stdout
    assert f"warden-i-{container.id}" not in nat


def test_a_net_in_after_the_teardown_makes_nothing(world: World) -> None:
    # A NetIn that runs on after a destroy's teardown (the server died while
    # it waited) must not bring the container's nat chain back.
    world.host_setup()
    container = world.add_container()
    world.net(container, "setup")
    world.net(container, "teardown")
    before = world.host.state()
    result = world.net(container, "in", HOST_PORT="61001", CONTAINER_PORT="8080", check=False)
    assert result.returncode == 1
    assert "could not add the rule and the hook of" in result.stderr
    assert world.host.state() == before


def test_has_link_sees_the_callers_namespace(world: World) -> None:
    # nsenter --net leaves /sys as it was: /sys/class/net would show the
    # namespace of the test, not the host's.
    container = world.add_container()
    common = ROOT_SCRIPTS / "lib" / "common.sh"

    def has_link(name: str) -> int:
        script = 'source "$1"; has_link "$2"'
        return world.host.run(
            "bash", "-c", script, "has_link", str(common), name, check=False
        ).returncode

    assert has_link(f"w-{container.id}-0") == 0
    assert has_link("lo") == 0
    assert has_link(f"w-{container.id}-1") == 1  # the container's end: its namespace
    assert has_link(f"wn{world.tag}o1") == 1  # the outside's end
    assert has_link(f"w-{container.id}") == 1  # a prefix only
