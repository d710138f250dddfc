"""Fixtures for the Linux backend's tests: a real server making real containers.

Run as root. For the whole session the fixtures make, each with a name
unique to the session (so that runs on one machine do not collide):

- a network namespace ``warden-test-<token>`` (loopback up) in which the
  server runs, started with ``nsenter --net=/run/netns/NAME`` (``ip netns
  exec`` would remount /sys and hide the cgroup hierarchies). Container veths
  and routes live only there;
- a base directory ``/tmp/warden-linux-<token>/`` with the depot, socket,
  configuration and log;
- ``cgroup_parent: warden-test-<token>``.

The rootfs is the default one (``/var/lib/warden/rootfs``), built by
``root-scripts/linux/rootfs/setup.sh`` when missing and then reused.

At the end every container left is destroyed, the server stopped, the
cgroup parent directories, the base directory and the namespace removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from warden.client import Client, ServerError
from warden.protocol import RunResponse
from warden.server.linux.cgroups import CgroupLayout
from warden.server.testing import (
    ServerProcess,
    private_netns,
    sh,
)

REPO = Path(__file__).resolve().parents[2]
ROOT_SCRIPTS = REPO / "root-scripts"
LINUX_SCRIPTS = ROOT_SCRIPTS / "linux"
ROOTFS = Path(os.environ.get("WARDEN_TEST_ROOTFS", "/var/lib/warden/rootfs"))
#: Seconds a single request may take before a test calls it hung.
TIMEOUT = 120.0
TOKEN = secrets.token_hex(3)


class LinuxServer(ServerProcess):
    """A warden-server process with the Linux backend, in the test namespace."""

    def __init__(
        self,
        base: Path,
        netns: str,
        rootfs: Path,
        *,
        name: str = "test",
        server_config: dict[str, Any] | None = None,
    ) -> None:
        """``name`` goes into the cgroup parent (``warden-<name>-<token>``);
        ``server_config`` overrides keys of the configuration's ``server``."""
        self.cgroup_parent = f"warden-{name}-{TOKEN}"
        config: dict[str, Any] = {
            "server": {
                "container_klass": "linux",
                "unix_domain_path": str(base / "warden.sock"),
                "container_depot_path": str(base / "depot"),
                "container_rootfs_path": str(rootfs),
                "root_scripts_path": str(ROOT_SCRIPTS),
                "container_grace_time": None,
                "cgroup_parent": self.cgroup_parent,
                "job_output_limit": 1024 * 1024,
                **(server_config or {}),
            },
            "health_check_server": {"port": 0},
            "logging": {"level": "debug"},
            "network": {"pool_network": "10.254.0.0/24", "release_delay": 0, "mtu": 1400},
            "user": {"pool_start_uid": 31000, "pool_size": 64},
        }
        super().__init__(base, config, netns=netns)

    @property
    def cgroup_layout(self) -> CgroupLayout:
        """The host's cgroup layout for this server's parent (v1, hybrid or v2)."""
        return CgroupLayout.detect(self.cgroup_parent)

    def cgroup_dir(self, controller: str, container_id: str | None = None) -> Path:
        """The parent's (or a container's) directory holding ``controller`` (v2: the one)."""
        base = self.cgroup_layout.mount(controller) / self.cgroup_parent
        return base / f"instance-{container_id}" if container_id else base

    def cgroup_parents(self) -> tuple[Path, ...]:
        """The server's parent directory in every hierarchy."""
        return self.cgroup_layout.parent_dirs()

    def destroy_leftovers(self, destroy_script: Path = LINUX_SCRIPTS / "destroy.sh") -> None:
        """Destroy every container directory with the backend's own script."""
        super().destroy_leftovers(destroy_script)


@pytest.fixture(scope="session")
def rootfs() -> Path:
    """The default rootfs, built once (about half a minute) when missing."""
    if os.geteuid() != 0:
        pytest.fail("the linux backend's tests need root (namespaces, cgroups, mounts)")
    subprocess.run([str(LINUX_SCRIPTS / "rootfs" / "setup.sh"), str(ROOTFS)], check=True)
    return ROOTFS


@contextlib.contextmanager
def running_server(
    base: Path, netns: str, rootfs: Path, *, name: str = "test",
    server_config: dict[str, Any] | None = None,
) -> Iterator[LinuxServer]:  # fmt: skip
    """A started server in ``base`` (made here if missing); afterwards the
    server is stopped, its containers destroyed, its cgroup parents and
    ``base`` removed."""
    base.mkdir(exist_ok=True)
    server = LinuxServer(base, netns, rootfs, name=name, server_config=server_config)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.destroy_leftovers()
        for parent in server.cgroup_parents():
            with contextlib.suppress(OSError):
                parent.rmdir()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def netns() -> Iterator[str]:
    """A private network namespace for the session's server and containers."""
    with private_netns(f"warden-test-{TOKEN}") as name:
        yield name


@pytest.fixture(scope="session")
def server(rootfs: Path, netns: str) -> Iterator[LinuxServer]:
    """The session's server (tests that restart it leave it running)."""
    with running_server(Path(f"/tmp/warden-linux-{TOKEN}"), netns, rootfs) as made:
        yield made


@pytest.fixture
def client(server: LinuxServer) -> Iterator[Client]:
    with server.client() as client:
        yield client


ContainerFactory = Callable[..., str]


@pytest.fixture
def make_container(server: LinuxServer) -> Iterator[ContainerFactory]:
    """Create containers (keyword arguments of Create); all destroyed afterwards."""
    handles: list[str] = []

    def make(**fields: Any) -> str:
        with server.client() as client:
            handle = client.create(timeout=TIMEOUT, **fields).handle
        handles.append(handle)
        return handle

    yield make
    with server.client() as client:
        for handle in handles:
            with contextlib.suppress(ServerError):
                client.destroy(handle, timeout=TIMEOUT)


@pytest.fixture
def container(make_container: ContainerFactory) -> str:
    """One container with the default options."""
    return make_container()


def run(client: Client, handle: str, script: str, *, privileged: bool = False,
        **fields: Any) -> RunResponse:  # fmt: skip
    """Run a script in a container; the response."""
    return client.run(handle, script, privileged=privileged, timeout=TIMEOUT, **fields)


def output(client: Client, handle: str, script: str, *, privileged: bool = False) -> str:
    """Run a script that must succeed; its stdout as text."""
    response = run(client, handle, script, privileged=privileged)
    assert response.exit_status == 0, (response.exit_status, response.stderr)
    return response.stdout.decode()


def container_id(client: Client, handle: str) -> str:
    """The id of a container (the last part of its path)."""
    return os.path.basename(client.info(handle, timeout=TIMEOUT).container_path)


def init_pid(server: LinuxServer, client: Client, handle: str) -> int:
    """Host pid of a container's init."""
    path = Path(client.info(handle, timeout=TIMEOUT).container_path)
    return int((path / "run" / "init.pid").read_text())


def host_processes(server: LinuxServer) -> set[tuple[int, str]]:
    """Live processes that belong to this test session's containers or server:
    in the server's namespace (but the server), in its cgroups, or naming its
    directory. Zombies are left out: this machine's init reaps orphans (the
    containers' inits are its children) on a schedule of its own."""
    netns = os.stat(f"/run/netns/{server.netns}").st_ino
    own = server.process.pid if server.process is not None else None
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            stat = (entry / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cgroups = (entry / "cgroup").read_text()
            in_netns = os.stat(entry / "ns" / "net").st_ino == netns
        except OSError:
            continue
        if in_netns or server.cgroup_parent in cgroups or str(server.base) in cmdline:
            found.add((int(entry.name), cmdline))
    return found


def host_snapshot(server: LinuxServer) -> dict[str, Any]:
    """What a container could leave behind on the host: mounts, cgroups,
    links, routes and firewall rules of the server's namespace, loop devices,
    processes, depot entries."""
    mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
    cgroups = []
    for top in server.cgroup_parents():
        cgroups += [str(p) for p in top.rglob("*") if p.is_dir()]
    links = sh("ip", "-n", server.netns, "-o", "link", "show")
    routes = sh("ip", "-n", server.netns, "route", "show")
    rules = sh("nsenter", f"--net=/run/netns/{server.netns}", "iptables-save")
    loops = sh("losetup", "-a")
    return {
        "mounts": [m for m in mountinfo if str(server.base) in m or " - overlay " in m],
        "mount_count": len(mountinfo),
        "cgroups": sorted(cgroups),
        "links": sorted(line.split(":")[1].strip() for line in links.splitlines()),
        "routes": routes,
        # Without comments (dates) and packet counters.
        "iptables": [
            re.sub(r"\[\d+:\d+\]", "", line)
            for line in rules.splitlines()
            if not line.startswith("#")
        ],
        "loops": [line for line in loops.splitlines() if str(server.base) in line],
        "processes": host_processes(server),
        "depot": sorted(n for n in os.listdir(server.depot) if not n.startswith(".")),
    }
