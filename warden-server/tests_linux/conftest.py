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
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from warden.client import Client, ClientConnectionError, ServerError
from warden.protocol import PingRequest, RunResponse
from warden.server.container._cgroups import CONTROLLERS, cgroup_mounts

REPO = Path(__file__).resolve().parents[2]
ROOT_SCRIPTS = REPO / "root-scripts"
LINUX_SCRIPTS = ROOT_SCRIPTS / "linux"
ROOTFS = Path(os.environ.get("WARDEN_TEST_ROOTFS", "/var/lib/warden/rootfs"))
SERVER_BIN = Path(sys.executable).with_name("warden-server")
#: Seconds a single request may take before a test calls it hung.
TIMEOUT = 120.0
TOKEN = secrets.token_hex(3)


def sh(*argv: str, check: bool = True) -> str:
    """Run a host command, return its stdout."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr}")
    return done.stdout


class LinuxServer:
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
        self.base = base
        self.netns = netns
        self.socket_path = str(base / "warden.sock")
        self.depot = base / "depot"
        self.log_path = base / "server.log"
        self.config_path = base / "warden.yml"
        self.cgroup_parent = f"warden-{name}-{TOKEN}"
        self.process: subprocess.Popen[bytes] | None = None
        self.config: dict[str, Any] = {
            "server": {
                "container_klass": "linux",
                "unix_domain_path": self.socket_path,
                "container_depot_path": str(self.depot),
                "container_rootfs_path": str(rootfs),
                "root_scripts_path": str(ROOT_SCRIPTS),
                "container_grace_time": None,
                "cgroup_parent": self.cgroup_parent,
                "job_output_limit": 1024 * 1024,
            },
            "health_check_server": {"port": 0},
            "logging": {"level": "debug"},
            "network": {"pool_network": "10.254.0.0/24", "release_delay": 0, "mtu": 1400},
            "user": {"pool_start_uid": 31000, "pool_size": 64},
        }
        self.config["server"].update(server_config or {})
        self.config_path.write_text(yaml.safe_dump(self.config))

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 60.0) -> None:
        """Start the server in the namespace; return once it answers a Ping."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["nsenter", f"--net=/run/netns/{self.netns}", str(SERVER_BIN),
                 "--config", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"warden-server exited {self.process.returncode}:\n{self.log()}")
            try:
                with Client(self.socket_path) as client:
                    client.call(PingRequest(), timeout=10)
                return
            except (ClientConnectionError, FileNotFoundError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"warden-server did not come up:\n{self.log()}") from None
                time.sleep(0.05)

    def wait(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        code = self.process.wait(timeout)
        self.process = None
        return code

    def drain(self) -> int:
        """SIGUSR2: the server drains and exits; returns its exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGUSR2)
        return self.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        assert self.process is not None
        self.process.kill()
        self.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.wait()
        self.process = None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-20000:]
        except OSError:
            return ""

    def client(self) -> Client:
        client = Client(self.socket_path)
        client.connect()
        return client

    def cgroup_dir(self, controller: str, container_id: str | None = None) -> Path:
        base = Path(cgroup_mounts()[controller]) / self.cgroup_parent
        return base / f"instance-{container_id}" if container_id else base

    def destroy_leftovers(self) -> None:
        """Destroy every container directory with the backend's own script."""
        if not self.depot.is_dir():
            return
        for entry in self.depot.iterdir():
            if entry.is_dir():
                sh("nsenter", f"--net=/run/netns/{self.netns}",
                   str(LINUX_SCRIPTS / "destroy.sh"), str(entry), check=False)  # fmt: skip


@pytest.fixture(scope="session")
def rootfs() -> Path:
    """The default rootfs, built once (about half a minute) when missing."""
    if os.geteuid() != 0:
        pytest.fail("the linux backend's tests need root (namespaces, cgroups, mounts)")
    subprocess.run([str(LINUX_SCRIPTS / "rootfs" / "setup.sh"), str(ROOTFS)], check=True)
    return ROOTFS


@contextlib.contextmanager
def private_netns(name: str) -> Iterator[str]:
    """A network namespace ``NAME`` (loopback up), deleted afterwards."""
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        sh("ip", "netns", "del", name, check=False)


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
        for controller in CONTROLLERS:
            with contextlib.suppress(OSError, KeyError):
                server.cgroup_dir(controller).rmdir()
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
    for controller in CONTROLLERS:
        top = server.cgroup_dir(controller)
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
