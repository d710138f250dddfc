"""skeleton/net_rate.sh and the bandwidth info commands of skeleton/net.sh."""

from __future__ import annotations

import json

import pytest
from _netns import FakeContainer, ProbeServer, World

RATE = 1_000_000  # bytes per second
BURST = 65_536
VOLUME = 3 * RATE  # about three seconds per direction


def measured_rate(report: str) -> float:
    received, seconds = report.split()
    assert int(received) == VOLUME
    # Bytes after the first read over the time from the first read to the last.
    return VOLUME / float(seconds)


def limited_container(world: World) -> FakeContainer:
    world.host_setup()
    container = world.add_container()
    world.net(container, "setup")
    world.net_rate(container, RATE * 8, BURST)
    return container


def assert_within_half(rate: float) -> None:
    assert 0.5 * RATE <= rate <= 1.5 * RATE, f"{rate:.0f} B/s against a limit of {RATE} B/s"


def test_traffic_towards_the_container_is_limited(world: World) -> None:
    container = limited_container(world)
    sink: ProbeServer = container.netns.serve("serve-sink", container.container_ip, "9000")
    world.host.probe("source", container.container_ip, "9000", str(VOLUME), check=True)
    assert_within_half(measured_rate(sink.read_line(timeout=60)))


def test_traffic_from_the_container_is_limited(world: World) -> None:
    container = limited_container(world)
    container.netns.serve("serve-source", container.container_ip, "9000", str(VOLUME))
    report = world.host.probe("sink", container.container_ip, "9000", check=True).stdout
    assert_within_half(measured_rate(report))


def qdisc_options(world: World, container: FakeContainer, command: str) -> dict[str, int]:
    qdiscs = json.loads(world.net(container, command).stdout)
    (tbf,) = [qdisc for qdisc in qdiscs if qdisc["kind"] == "tbf" and qdisc.get("root")]
    return {"rate": tbf["options"]["rate"], "burst": tbf["options"]["burst"]}


def test_info_commands_report_the_limits_and_a_new_limit_replaces_the_old(
    world: World,
) -> None:
    world.host_setup()
    container = world.add_container()
    world.net(container, "setup")
    # Nothing set: no tbf, and no ifb yet.
    assert json.loads(world.net(container, "get_ingress_info").stdout) == []
    egress = json.loads(world.net(container, "get_egress_info").stdout)
    assert all(qdisc["kind"] != "tbf" for qdisc in egress)

    world.net_rate(container, 100_000 * 8, 1000)
    world.net_rate(container, 200_000 * 8, 2000)
    for command in ("get_egress_info", "get_ingress_info"):
        assert qdisc_options(world, container, command) == {"rate": 200_000, "burst": 2000}
    # Still one ingress qdisc with one redirect.
    filters = world.host.run("tc", "filter", "show", "dev", f"w-{container.id}-0", "ingress")
    assert filters.stdout.lower().count(f"redirect to device w-{container.id}-2") == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BURST": "1000"}, "net_rate.sh: Please specify RATE..."),
        ({"RATE": "8000"}, "net_rate.sh: Please specify BURST..."),
        ({"RATE": "0", "BURST": "1000"}, "RATE is not a positive integer: 0"),
        ({"RATE": "8000", "BURST": "-1"}, "BURST is not a positive integer: -1"),
    ],
)
def test_net_rate_errors(world: World, env: dict[str, str], message: str) -> None:
    world.host_setup()
    container = world.add_container()
    before = world.host.state()
    result = world.host.run(str(container.path / "net_rate.sh"), env=env, check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert world.host.state() == before
