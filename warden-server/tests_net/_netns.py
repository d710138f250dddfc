"""Private network namespaces for the networking tests.

Every test builds its own world, so nothing it does is seen outside it:

    outside (O)  198.51.100.2/24, and 203.0.113.1-3/32 on its loopback
        |  veth wn<tag>o0 / wn<tag>o1
    host (H)     198.51.100.1/24, default route via O; warden's firewall goes here
        |  veth w-<id>-0 (host ip/30) / w-<id>-1 (container ip/30), as the
        |  linux backend makes them
    containers   one namespace each, default route via the host ip

O has no other link, so a packet that leaves H can go nowhere else. The
namespaces are made with `ip netns add` and entered with `nsenter --net`.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import select
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROBE = HERE / "_probe.py"
ROOT_SCRIPTS = HERE.parents[1] / "root-scripts" / "linux"
HOST_NET_SH = ROOT_SCRIPTS / "net.sh"
SKELETON = ROOT_SCRIPTS / "skeleton"

HOST_OUTSIDE_IP = "198.51.100.1"
OUTSIDE_IP = "198.51.100.2"
REMOTE_IPS = ("203.0.113.1", "203.0.113.2", "203.0.113.3")
POOL_NETWORK = "10.254.0.0/22"


def unique_tag(length: int = 6) -> str:
    """Lowercase letters and digits, to make test resource names unique."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


class ProbeServer:
    """A probe server's process and the lines it prints."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        self.process = process
        self._fd = process.stdout.fileno()
        self._buffer = b""

    def read_line(self, timeout: float = 10) -> str:
        """The next line, waiting at most `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._fd], [], [], max(remaining, 0))
            if not ready:
                raise AssertionError(f"probe server printed nothing in {timeout} s")
            data = os.read(self._fd, 4096)
            if not data:
                raise AssertionError("probe server exited")
            self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode().strip()

    def wait(self, timeout: float = 60) -> int:
        return self.process.wait(timeout)


class Netns:
    """A named network namespace: `ip netns add` now, `ip netns del` at close."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = f"/run/netns/{name}"
        self._processes: list[subprocess.Popen[bytes]] = []
        subprocess.run(["ip", "netns", "add", name], check=True)
        # IPv4 only: IPv6 link-local addresses would change the state that the
        # cleanliness tests compare (duplicate address detection runs late).
        for scope in ("all", "default"):
            path = f"/proc/sys/net/ipv6/conf/{scope}/disable_ipv6"
            self.run("bash", "-c", f"echo 1 > {path}")
        self.run("ip", "link", "set", "lo", "up")

    def argv(self, *argv: str) -> list[str]:
        return ["nsenter", f"--net={self.path}", *argv]

    def run(
        self,
        *argv: str,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float = 30,
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **env} if env is not None else None
        result = subprocess.run(
            self.argv(*argv),
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} in {self.name} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )
        return result

    def probe(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return self.run("python3", str(PROBE), *args, check=check, timeout=60)

    def serve(self, *args: str) -> ProbeServer:
        """Start a probe server here and wait until it listens."""
        process = subprocess.Popen(
            self.argv("python3", str(PROBE), *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._processes.append(process)
        server = ProbeServer(process)
        line = server.read_line()
        if line != "ready":
            raise AssertionError(f"probe {args} did not start: {line!r}")
        return server

    def stop_processes(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.kill()
            process.communicate()
        self._processes.clear()

    def close(self) -> None:
        self.stop_processes()
        subprocess.run(["ip", "netns", "del", self.name], check=False)

    def state(self) -> dict[str, list[str]]:
        """What the cleanliness tests compare: links, addresses, routes, qdiscs,
        tc filters and every iptables table, without counters."""
        links = self.run("ip", "-o", "link", "show").stdout.splitlines()
        names = sorted(line.split(":")[1].strip().split("@")[0] for line in links)
        filters = []
        for name in names:
            for parent in ("ingress", "root"):
                result = self.run("tc", "filter", "show", "dev", name, parent, check=False)
                filters += [f"{name} {parent}: {line}" for line in result.stdout.splitlines()]
        return {
            "links": names,
            "addresses": sorted(self.run("ip", "-o", "addr", "show").stdout.splitlines()),
            "routes": self.run("ip", "route", "show", "table", "all").stdout.splitlines(),
            "qdiscs": sorted(self.run("tc", "qdisc", "show").stdout.splitlines()),
            "filters": filters,
            **{
                f"iptables {table}": self.run(
                    "iptables", "-w", "-t", table, "-S"
                ).stdout.splitlines()
                for table in ("filter", "nat", "mangle", "raw")
            },
        }


@dataclass
class FakeContainer:
    """A container as far as networking goes: its namespace and veth pair, made
    the way the linux backend makes them, and a depot directory holding a copy
    of the skeleton's network scripts and an etc/config."""

    id: str
    netns: Netns
    host_ip: str
    container_ip: str
    path: Path

    def env(self) -> dict[str, str]:
        return {"id": self.id, "network_container_ip": self.container_ip}


@dataclass
class World:
    """The outside, the host and its containers; `close` removes them all."""

    tag: str
    depot: Path
    host: Netns
    outside: Netns
    containers: list[FakeContainer] = field(default_factory=list)
    _next_subnet: int = 0

    def host_setup(
        self,
        allow_networks: Sequence[str] = (),
        deny_networks: Sequence[str] = (),
        allow_host_access: bool = False,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        return self.host.run(
            str(HOST_NET_SH),
            "setup",
            env={
                "POOL_NETWORK": POOL_NETWORK,
                "ALLOW_NETWORKS": " ".join(allow_networks),
                "DENY_NETWORKS": " ".join(deny_networks),
                "ALLOW_HOST_ACCESS": "true" if allow_host_access else "false",
            },
            check=check,
        )

    def host_teardown(self) -> subprocess.CompletedProcess[str]:
        return self.host.run(str(HOST_NET_SH), "teardown")

    def add_container(self, container_id: str | None = None) -> FakeContainer:
        container_id = container_id or f"{self.tag}{unique_tag(11 - len(self.tag))}"
        base = ipaddress.ip_network(POOL_NETWORK).network_address + 4 * self._next_subnet
        self._next_subnet += 1
        host_ip, container_ip = str(base + 1), str(base + 2)
        netns = Netns(f"warden-net-test-{container_id}")
        host_iface, container_iface = f"w-{container_id}-0", f"w-{container_id}-1"
        self.host.run(
            "ip",
            "link",
            "add",
            host_iface,
            "type",
            "veth",
            "peer",
            "name",
            container_iface,
            "netns",
            netns.name,
        )
        self.host.run("ip", "addr", "add", f"{host_ip}/30", "dev", host_iface)
        self.host.run("ip", "link", "set", host_iface, "up")
        netns.run("ip", "addr", "add", f"{container_ip}/30", "dev", container_iface)
        netns.run("ip", "link", "set", container_iface, "up")
        netns.run("ip", "route", "add", "default", "via", host_ip)

        path = self.depot / container_id
        (path / "etc").mkdir(parents=True)
        (path / "lib").mkdir()
        for script in ("net.sh", "net_rate.sh"):
            shutil.copy2(SKELETON / script, path / script)
        shutil.copy2(SKELETON / "lib" / "iptables.sh", path / "lib" / "iptables.sh")
        (path / "etc" / "config").write_text(
            f"id={container_id}\n"
            f"network_netmask=255.255.255.252\n"
            f"network_host_ip={host_ip}\n"
            f"network_host_iface={host_iface}\n"
            f"network_container_ip={container_ip}\n"
            f"network_container_iface={container_iface}\n"
            f"network_ifb_iface=w-{container_id}-2\n"
        )
        container = FakeContainer(container_id, netns, host_ip, container_ip, path)
        self.containers.append(container)
        return container

    def remove_container(self, container: FakeContainer) -> None:
        container.netns.close()  # takes the veth pair with it
        shutil.rmtree(container.path)
        self.containers.remove(container)
        # The host end of the veth disappears asynchronously.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.host.run("ip", "link", "show", f"w-{container.id}-0", check=False).returncode:
                return
            time.sleep(0.01)
        raise AssertionError(f"w-{container.id}-0 outlived its container")

    def net(
        self,
        container: FakeContainer,
        command: str,
        check: bool = True,
        **env: str,
    ) -> subprocess.CompletedProcess[str]:
        """Run the container's net.sh COMMAND in the host namespace."""
        return self.host.run(str(container.path / "net.sh"), command, env=env, check=check)

    def net_rate(
        self, container: FakeContainer, rate_bits: int, burst: int, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.host.run(
            str(container.path / "net_rate.sh"),
            env={"RATE": str(rate_bits), "BURST": str(burst)},
            check=check,
        )

    def close(self) -> None:
        for container in list(self.containers):
            container.netns.close()
        self.containers.clear()
        self.host.close()
        self.outside.close()
        shutil.rmtree(self.depot, ignore_errors=True)


def make_world(tmp_path: Path) -> World:
    tag = unique_tag(4)
    host = Netns(f"warden-net-test-{tag}")
    outside = Netns(f"warden-net-test-{tag}-o")
    world = World(tag=tag, depot=tmp_path / "depot", host=host, outside=outside)
    try:
        world.depot.mkdir()
        host_end, outside_end = f"wn{tag}o0", f"wn{tag}o1"
        host.run(
            "ip",
            "link",
            "add",
            host_end,
            "type",
            "veth",
            "peer",
            "name",
            outside_end,
            "netns",
            outside.name,
        )
        host.run("ip", "addr", "add", f"{HOST_OUTSIDE_IP}/24", "dev", host_end)
        host.run("ip", "link", "set", host_end, "up")
        host.run("ip", "route", "add", "default", "via", OUTSIDE_IP)
        outside.run("ip", "addr", "add", f"{OUTSIDE_IP}/24", "dev", outside_end)
        outside.run("ip", "link", "set", outside_end, "up")
        for address in REMOTE_IPS:
            outside.run("ip", "addr", "add", f"{address}/32", "dev", "lo")
        # O has no route to the pool network: container traffic can only reach it
        # masqueraded as H.
        return world
    except BaseException:
        world.close()
        raise
