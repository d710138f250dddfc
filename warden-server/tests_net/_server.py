"""A real warden-server with the Linux backend, run in a test world's host
namespace (see _netns.py), for the end-to-end networking tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from _netns import PROBE, ROOT_SCRIPTS, Netns, ProbeServer, World

from warden.client import ServerError
from warden.server.testing import ServerProcess

ROOTFS = Path(os.environ.get("WARDEN_TEST_ROOTFS", "/var/lib/warden/rootfs"))
POOL_NETWORK = "10.254.0.0/24"
PORT_POOL_START = 62000
TIMEOUT = 120.0


def build_rootfs() -> Path:
    """The default rootfs, built once when missing (the linux tests share it)."""
    subprocess.run([str(ROOT_SCRIPTS / "rootfs" / "setup.sh"), str(ROOTFS)], check=True)
    return ROOTFS


class NetServer(ServerProcess):
    """warden-server in ``world.host``; its containers are real."""

    def __init__(self, world: World, base: Path) -> None:
        self.world = world
        self.base = base
        (base / "depot").mkdir(parents=True)
        self.cgroup_parent = f"warden-net-test-{world.tag}"
        super().__init__(base, self.network_config(), netns=world.host.name)

    def network_config(self, **network: Any) -> dict[str, Any]:
        return {
            "server": {
                "container_klass": "linux",
                "unix_domain_path": str(self.base / "warden.sock"),
                "container_depot_path": str(self.base / "depot"),
                "container_rootfs_path": str(ROOTFS),
                "root_scripts_path": str(ROOT_SCRIPTS.parent),
                "container_grace_time": None,
                "cgroup_parent": self.cgroup_parent,
            },
            "health_check_server": {"port": 0},
            "logging": {"level": "debug"},
            "network": {"pool_network": POOL_NETWORK, "mtu": 1500, **network},
            "port": {"pool_start_port": PORT_POOL_START, "pool_size": 1000},
            "user": {"pool_start_uid": 32000, "pool_size": 64},
        }

    def start(self, timeout: float = 60.0, **network: Any) -> NetServer:
        """Start with these ``network`` settings; return once it answers a Ping."""
        self.config = self.network_config(**network)
        self.write_config()
        return super().start(timeout)

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
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(Exception), self.client() as client:
                for handle in client.list(timeout=TIMEOUT).handles:
                    with contextlib.suppress(ServerError):
                        client.destroy(handle, timeout=TIMEOUT)
        self.stop()
        self.destroy_leftovers(ROOT_SCRIPTS / "destroy.sh")
        for mount in _cgroup_mounts():
            with contextlib.suppress(OSError):
                (Path(mount) / self.cgroup_parent).rmdir()
        shutil.rmtree(self.base, ignore_errors=True)


def _cgroup_mounts() -> set[str]:
    mounts = set()
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if fields[2] in ("cgroup", "cgroup2"):
            mounts.add(fields[1])
    return mounts


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
