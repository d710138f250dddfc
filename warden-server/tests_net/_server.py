"""A real warden-server with the Linux backend, run in a test world's host
namespace (see _netns.py), for the end-to-end networking tests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from _netns import PROBE, Netns, ProbeServer, World

from warden.server.testing import (
    DEFAULT_ROOTFS,
    REQUEST_TIMEOUT,
    LinuxTestServer,
    deep_merge,
    ensure_rootfs,
    linux_config,
)

POOL_NETWORK = "10.254.0.0/24"
PORT_POOL_START = 62000
TIMEOUT = REQUEST_TIMEOUT

#: What the networking tests change in the default Linux test configuration.
NET_CONFIG: dict[str, Any] = {
    # The server's default release delay, as the original configuration has it.
    "network": {"pool_network": POOL_NETWORK, "mtu": 1500, "release_delay": 5},
    "port": {"pool_start_port": PORT_POOL_START, "pool_size": 1000},
    "user": {"pool_start_uid": 32000, "pool_size": 64},
}


def build_rootfs() -> Path:
    """The default rootfs, built once when missing (the linux tests share it)."""
    return ensure_rootfs(DEFAULT_ROOTFS)


class NetServer(LinuxTestServer):
    """warden-server in ``world.host``; its containers are real."""

    def __init__(self, world: World, base: Path) -> None:
        self.world = world
        base.mkdir(parents=True)
        parent = f"warden-net-test-{world.tag}"
        super().__init__(base, world.host.name, cgroup_parent=parent, overrides=NET_CONFIG)

    def network_config(self, **network: Any) -> dict[str, Any]:
        """The test configuration with these ``network`` settings."""
        defaults = linux_config(self.base, cgroup_parent=self.cgroup_parent)
        return deep_merge(deep_merge(defaults, NET_CONFIG), {"network": network})

    def start(self, timeout: float = 60.0, **network: Any) -> NetServer:
        """Start with these ``network`` settings; return once it answers a Ping."""
        self.config = self.network_config(**network)
        self.write_config()
        super().start(timeout)
        return self

    def drain(self) -> int:
        """SIGUSR2: the server exits and leaves its containers running."""
        code = super().drain()
        assert code == 0, self.log()
        return code

    def restart(self, **network: Any) -> None:
        self.drain()
        self.start(**network)

    def close(self) -> None:
        """Destroy every container, stop the server, remove the cgroup parents."""
        self.destroy_all()
        self.cleanup()


class ContainerNetns:
    """A container's network namespace, entered from the host (through its
    init's), to run probes there as a process of the container would."""

    def __init__(self, host: Netns, init_pid: int) -> None:
        self.host = host
        self.path = f"/proc/{init_pid}/ns/net"
        self.processes: list[subprocess.Popen[bytes]] = []

    def argv(self, *argv: str) -> list[str]:
        return ["nsenter", f"--net={self.path}", *argv]

    def probe(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv("python3", str(PROBE), *args),
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    def serve(self, *args: str) -> ProbeServer:
        process = subprocess.Popen(
            self.argv("python3", str(PROBE), *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        server = ProbeServer(process)
        assert server.read_line() == "ready"
        return server

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.communicate()
