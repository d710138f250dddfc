"""A real warden-server process for tests and benchmarks.

Shipped with the package (like ``twisted.internet.testing``) so that the
project's test suites, its benchmarks and users' own tests start, restart and
clean up servers the same way. It drives the server through the blocking
client, so it needs ``warden-client`` (installed by ``warden-server[test]``).

On top of :class:`ServerProcess` it offers the configured test servers every
suite uses: :func:`insecure_server` and :func:`linux_server` (the latter in a
private network namespace, with a cgroup parent, depot and socket unique to the
run), :class:`ContainerMaker` (containers destroyed afterwards),
:func:`host_snapshot` (what a container could leak on the host) and
:func:`wait_until` (poll a condition with a deadline, never a fixed sleep).
Nothing here imports pytest: test suites wrap these in their own fixtures.

    >>> server = ServerProcess(base, config, netns="warden-test-1").start()  # doctest: +SKIP
    >>> with server.client() as client:                                      # doctest: +SKIP
    ...     client.ping()
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
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from warden.server._config import default_root_scripts_path
from warden.server.linux.cgroups import CgroupLayout

if TYPE_CHECKING:
    from typing import Self

    from warden.client import Client
    from warden.protocol import InfoResponse, RunResponse

__all__ = [
    "CGROUP_CONTROLLERS",
    "DEFAULT_ROOTFS",
    "REQUEST_TIMEOUT",
    "SERVER_BIN",
    "ContainerFactory",
    "ContainerMaker",
    "InsecureTestServer",
    "LinuxTestServer",
    "ServerProcess",
    "cgroup_mounts",
    "container_id",
    "deep_merge",
    "default_root_scripts",
    "ensure_rootfs",
    "host_processes",
    "host_snapshot",
    "init_pid",
    "insecure_config",
    "insecure_server",
    "linux_config",
    "linux_server",
    "output",
    "private_netns",
    "run",
    "sh",
    "unique_token",
    "wait_for_state",
    "wait_until",
]

#: The console script of the interpreter running the tests.
SERVER_BIN = Path(sys.executable).with_name("warden-server")


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, nested mappings key by key."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def sh(*argv: str, check: bool = True) -> str:
    """Run a host command; its stdout. ``check``: fail with its stderr on a non-zero exit."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr}")
    return done.stdout


@contextlib.contextmanager
def private_netns(prefix: str) -> Iterator[str]:
    """A fresh network namespace ``<prefix>-<hex>`` with loopback up, removed afterwards.

    Linux containers of tests and benchmarks live in one, so that their
    veths, routes and firewall rules never touch the host's network.
    """
    name = f"{prefix}-{secrets.token_hex(3)}"
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        sh("ip", "netns", "del", name, check=False)


class ServerProcess:
    """A warden-server process with its own configuration file and log.

    ``config`` is the configuration as a mapping; ``server.unix_domain_path``
    and ``server.container_depot_path`` name the socket and the depot. With
    ``netns`` the server runs inside that network namespace, entered with
    ``nsenter --net`` (``ip netns exec`` would remount /sys and hide the
    cgroup hierarchies).
    """

    def __init__(
        self,
        base: Path,
        config: Mapping[str, Any],
        *,
        netns: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.base = base
        self.netns = netns
        self.env = dict(env) if env is not None else None
        self.config: dict[str, Any] = dict(config)
        self.config_path = base / "warden.yml"
        self.log_path = base / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.write_config()

    @property
    def socket_path(self) -> str:
        """The server's unix socket."""
        return str(self.config["server"]["unix_domain_path"])

    @property
    def depot(self) -> Path:
        """The container depot."""
        return Path(self.config["server"]["container_depot_path"])

    @property
    def pid(self) -> int:
        """The running server's pid."""
        assert self.process is not None, "the server is not running"
        return self.process.pid

    def write_config(self) -> None:
        """Write ``self.config`` to the file the server reads at start."""
        self.config_path.write_text(yaml.safe_dump(self.config))

    def in_netns(self, *argv: str) -> list[str]:
        """``argv`` run in the server's network namespace (if it has one)."""
        if self.netns is None:
            return list(argv)
        return ["nsenter", f"--net=/run/netns/{self.netns}", *argv]

    def start(self, timeout: float = 60.0) -> Self:
        """Start the server and return once it answers a Ping."""
        from warden.client import Client, ClientConnectionError
        from warden.protocol import PingRequest

        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.in_netns(str(SERVER_BIN), "--config", str(self.config_path)),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=self.env,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"warden-server exited {self.process.returncode}:\n{self.log()}")
            try:
                with Client(self.socket_path) as client:
                    client.call(PingRequest(), timeout=10)
                return self
            except (ClientConnectionError, FileNotFoundError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"warden-server did not come up:\n{self.log()}") from None
                time.sleep(0.02)

    def wait(self, timeout: float = 60.0) -> int:
        """Wait for the server to exit; its exit status."""
        assert self.process is not None, "the server is not running"
        code = self.process.wait(timeout)
        self.process = None
        return code

    def drain(self) -> int:
        """SIGUSR2: the server drains and exits, containers live on; its exit status."""
        assert self.process is not None, "the server is not running"
        self.process.send_signal(signal.SIGUSR2)
        return self.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would; containers live on."""
        assert self.process is not None, "the server is not running"
        self.process.kill()
        self.wait()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (SIGKILL after ``timeout``), if it is running."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def log(self, tail: int = 20000) -> str:
        """The last ``tail`` characters of the server's log."""
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def client(self) -> Client:
        """A connected blocking client (use it as a context manager)."""
        from warden.client import Client

        client = Client(self.socket_path)
        client.connect()
        return client

    def containers(self) -> list[Path]:
        """Container directories in the depot."""
        if not self.depot.is_dir():
            return []
        return [p for p in self.depot.iterdir() if p.is_dir() and not p.name.startswith(".")]

    def destroy_leftovers(self, destroy_script: Path) -> None:
        """Destroy every container directory left in the depot with the backend's script."""
        for path in self.containers():
            with contextlib.suppress(OSError):
                subprocess.run(
                    self.in_netns(str(destroy_script), str(path)),
                    check=False,
                    capture_output=True,
                    timeout=120,
                )


# -- configured test servers --

#: Seconds a single request may take before a test calls it hung.
REQUEST_TIMEOUT = 120.0
#: The rootfs Linux test containers use (built on first use by ``ensure_rootfs``).
DEFAULT_ROOTFS = Path(os.environ.get("WARDEN_TEST_ROOTFS", "/var/lib/warden/rootfs"))
#: The cgroup v1 controllers a Linux container gets a directory in.
CGROUP_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids")
_CGROUP_V1_CONTROLLERS = frozenset(
    (*CGROUP_CONTROLLERS, "net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc")
)


def unique_token(length: int = 3) -> str:
    """Random hex, to make names (namespaces, directories, cgroups) unique on the machine."""
    return secrets.token_hex(length)


def default_root_scripts() -> Path:
    """The scripts the test servers use.

    ``WARDEN_ROOT_SCRIPTS`` when set (tox sets the checkout's), else the
    checkout this package runs from (an editable install), else the copy
    installed with the package.
    """
    if "WARDEN_ROOT_SCRIPTS" in os.environ:
        return Path(os.environ["WARDEN_ROOT_SCRIPTS"])
    # src/warden/server/testing.py -> the repository holding warden-server/.
    path = Path(__file__).resolve().parents[4] / "root-scripts"
    if path.is_dir():
        return path
    installed = Path(default_root_scripts_path())
    if not installed.is_dir():
        raise RuntimeError(f"no root-scripts at {path} or {installed}: set WARDEN_ROOT_SCRIPTS")
    return installed


def cgroup_mounts() -> dict[str, Path]:
    """Mount point of each mounted cgroup v1 controller (read from /proc/self/mounts)."""
    found: dict[str, Path] = {}
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[2] == "cgroup":
            for option in fields[3].split(","):
                if option in _CGROUP_V1_CONTROLLERS:
                    found.setdefault(option, Path(fields[1]))
    return found


def ensure_rootfs(rootfs: Path = DEFAULT_ROOTFS, root_scripts: Path | None = None) -> Path:
    """``rootfs``, built by the backend's ``rootfs/setup.sh`` when missing (about half a
    minute, once per machine). Needs root, as every Linux container does."""
    if os.geteuid() != 0:
        raise RuntimeError("Linux containers need root (namespaces, cgroups, mounts)")
    scripts = root_scripts or default_root_scripts()
    subprocess.run([str(scripts / "linux" / "rootfs" / "setup.sh"), str(rootfs)], check=True)
    return rootfs


def insecure_config(base: Path, root_scripts: Path | None = None) -> dict[str, Any]:
    """A configuration for the insecure backend with everything under ``base``."""
    return {
        "server": {
            "container_klass": "insecure",
            "unix_domain_path": str(base / "w.sock"),
            "container_depot_path": str(base / "depot"),
            "root_scripts_path": str(root_scripts or default_root_scripts()),
            "container_grace_time": None,
            "job_output_limit": 1024 * 1024,
        },
        "health_check_server": {"port": 0},
        "logging": {"level": "debug"},
        "network": {"release_delay": 0},
        "port": {"pool_start_port": 40000, "pool_size": 1000},
        "user": {"pool_start_uid": 30000, "pool_size": 64},
    }


def linux_config(
    base: Path,
    *,
    cgroup_parent: str,
    rootfs: Path = DEFAULT_ROOTFS,
    root_scripts: Path | None = None,
) -> dict[str, Any]:
    """A configuration for the Linux backend with depot, socket and log under ``base``."""
    return {
        "server": {
            "container_klass": "linux",
            "unix_domain_path": str(base / "warden.sock"),
            "container_depot_path": str(base / "depot"),
            "container_rootfs_path": str(rootfs),
            "root_scripts_path": str(root_scripts or default_root_scripts()),
            "container_grace_time": None,
            "cgroup_parent": cgroup_parent,
            "job_output_limit": 1024 * 1024,
        },
        "health_check_server": {"port": 0},
        "logging": {"level": "debug"},
        "network": {"pool_network": "10.254.0.0/24", "release_delay": 0, "mtu": 1400},
        "user": {"pool_start_uid": 31000, "pool_size": 64},
    }


class InsecureTestServer(ServerProcess):
    """A warden-server with the insecure backend, its own socket, depot and log in ``base``.

    ``overrides`` is merged (key by key) into :func:`insecure_config`.
    """

    def __init__(self, base: Path, overrides: Mapping[str, Any] | None = None) -> None:
        self.root_scripts = default_root_scripts()
        config = deep_merge(insecure_config(base, self.root_scripts), overrides or {})
        super().__init__(base, config, env=os.environ)

    def cleanup(self) -> None:
        """Stop the server, destroy every container left, remove ``base``."""
        self.stop()
        self.destroy_leftovers(self.root_scripts / "insecure" / "destroy.sh")
        shutil.rmtree(self.base, ignore_errors=True)


class LinuxTestServer(ServerProcess):
    """A warden-server with the Linux backend, run in the network namespace ``netns``.

    ``overrides`` is merged (key by key) into :func:`linux_config`; the depot
    directory is made here. :meth:`cleanup` removes everything the server made.
    """

    def __init__(
        self,
        base: Path,
        netns: str,
        *,
        cgroup_parent: str,
        rootfs: Path = DEFAULT_ROOTFS,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.cgroup_parent = cgroup_parent
        self.root_scripts = default_root_scripts()
        defaults = linux_config(
            base, cgroup_parent=cgroup_parent, rootfs=rootfs, root_scripts=self.root_scripts
        )
        config = deep_merge(defaults, overrides or {})
        Path(config["server"]["container_depot_path"]).mkdir(parents=True, exist_ok=True)
        super().__init__(base, config, netns=netns)

    @property
    def destroy_script(self) -> Path:
        """The backend's destroy.sh, which removes a container's every trace."""
        return self.root_scripts / "linux" / "destroy.sh"

    @property
    def cgroup_layout(self) -> CgroupLayout:
        """The host's cgroup layout for this server's parent (v1, hybrid or v2)."""
        return CgroupLayout.detect(self.cgroup_parent)

    def cgroup_dir(self, controller: str, container_id: str | None = None) -> Path:
        """The server's cgroup parent holding ``controller`` (v2: the one), or a
        container's cgroup under it."""
        parent = self.cgroup_layout.mount(controller) / self.cgroup_parent
        return parent / f"instance-{container_id}" if container_id else parent

    def cgroup_parents(self) -> tuple[Path, ...]:
        """The server's parent directory in every hierarchy."""
        return self.cgroup_layout.parent_dirs()

    def destroy_leftovers(self, destroy_script: Path | None = None) -> None:
        """Destroy every container directory left in the depot with ``destroy.sh``."""
        super().destroy_leftovers(destroy_script or self.destroy_script)

    def destroy_all(self) -> None:
        """Destroy every container the running server lists (errors ignored)."""
        from warden.client import ServerError

        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(Exception), self.client() as client:
            for handle in client.list(timeout=REQUEST_TIMEOUT).handles:
                with contextlib.suppress(ServerError):
                    client.destroy(handle, timeout=REQUEST_TIMEOUT)

    def cleanup(self) -> None:
        """Stop the server, destroy the containers left, remove its cgroup parents and ``base``."""
        self.stop()
        self.destroy_leftovers()
        for parent in self.cgroup_parents():
            with contextlib.suppress(OSError):
                parent.rmdir()
        if os.environ.get("WARDEN_TEST_KEEP_LOG"):  # debugging: keep the server's log
            with contextlib.suppress(OSError):
                shutil.copy(self.log_path, os.environ["WARDEN_TEST_KEEP_LOG"])
        shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def insecure_server(overrides: Mapping[str, Any] | None = None) -> Iterator[InsecureTestServer]:
    """A started insecure server in a fresh directory under /tmp, cleaned up afterwards."""
    import tempfile

    # Short and under /tmp: unix socket paths are limited to 108 bytes.
    server = InsecureTestServer(Path(tempfile.mkdtemp(prefix="wsrv-", dir="/tmp")), overrides)
    try:
        yield server.start()
    finally:
        server.cleanup()


@contextlib.contextmanager
def linux_server(
    name: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    netns: str | None = None,
    rootfs: Path = DEFAULT_ROOTFS,
    token: str | None = None,
    start: bool = True,
) -> Iterator[LinuxTestServer]:
    """A Linux server named ``name``, removed afterwards with all it made.

    Its directory is ``/tmp/warden-<name>-<token>`` and its cgroup parent
    ``warden-<name>-<token>``. It runs in ``netns`` if given, else in a private
    network namespace ``warden-<name>-<hex>`` made (and removed) here. The
    rootfs is built first when missing. ``start=False`` yields it unstarted.
    """
    token = token or unique_token()
    ensure_rootfs(rootfs)
    with contextlib.ExitStack() as stack:
        if netns is None:
            netns = stack.enter_context(private_netns(f"warden-{name}"))
        base = Path(f"/tmp/warden-{name}-{token}")
        base.mkdir(exist_ok=True)
        server = LinuxTestServer(
            base, netns, cgroup_parent=f"warden-{name}-{token}", rootfs=rootfs, overrides=overrides
        )
        stack.callback(server.cleanup)
        stack.callback(server.destroy_all)
        if start:
            server.start()
        yield server


#: What a ``make_container`` fixture gives: Create's keyword arguments -> a handle.
ContainerFactory = Callable[..., str]


class ContainerMaker:
    """Creates containers on ``server`` and destroys all of them on :meth:`close`."""

    def __init__(self, server: ServerProcess, timeout: float = REQUEST_TIMEOUT) -> None:
        self.server = server
        self.timeout = timeout
        self.handles: list[str] = []

    def __call__(self, **fields: Any) -> str:
        """Create a container (keyword arguments of Create); its handle."""
        from warden.client import ServerError

        with self.server.client() as client:
            try:
                handle = client.create(timeout=self.timeout, **fields).handle
            except ServerError as error:
                raise AssertionError(f"create failed: {error}\n{self.server.log()}") from error
        self.handles.append(handle)
        return handle

    def close(self) -> None:
        """Destroy every container made (those already gone are skipped)."""
        from warden.client import ServerError

        if not self.handles:
            return
        with self.server.client() as client:
            for handle in self.handles:
                with contextlib.suppress(ServerError):
                    client.destroy(handle, timeout=self.timeout)
        self.handles.clear()


# -- helpers for test bodies --


def wait_until(
    condition: Callable[[], object], timeout: float = REQUEST_TIMEOUT, message: str = "condition"
) -> None:
    """Poll ``condition`` until it is true; fail naming ``message`` after ``timeout`` seconds.

    A bound on waiting for something the server or kernel does on its own, not
    a speed check: use it instead of a fixed sleep.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message}")
        time.sleep(0.02)


def wait_for_state(client: Client, handle: str, state: str, timeout: float = 60.0) -> InfoResponse:
    """Info of ``handle`` once it reached ``state`` (the server acts on its own)."""
    seen: list[InfoResponse] = []

    def reached() -> bool:
        seen[:] = [client.info(handle, timeout=REQUEST_TIMEOUT)]
        return bool(seen[0].state == state)

    wait_until(reached, timeout, f"container {handle} {state}")
    return seen[0]


def run(
    client: Client, handle: str, script: str, *, privileged: bool = False, **fields: Any
) -> RunResponse:
    """Run a script in a container; the response."""
    return client.run(handle, script, privileged=privileged, timeout=REQUEST_TIMEOUT, **fields)


def output(client: Client, handle: str, script: str, *, privileged: bool = False) -> str:
    """Run a script that must succeed; its stdout as text."""
    response = run(client, handle, script, privileged=privileged)
    assert response.exit_status == 0, (response.exit_status, response.stderr)
    return response.stdout.decode()


def container_id(client: Client, handle: str) -> str:
    """The id of a container (the last part of its path)."""
    return os.path.basename(client.info(handle, timeout=REQUEST_TIMEOUT).container_path)


def init_pid(client: Client, handle: str) -> int:
    """Host pid of a Linux container's init."""
    path = Path(client.info(handle, timeout=REQUEST_TIMEOUT).container_path)
    return int((path / "run" / "init.pid").read_text())


def host_processes(server: LinuxTestServer) -> set[tuple[int, str]]:
    """Live processes of this server's containers: in its network namespace (but
    the server and its own spawner), in its cgroups, or naming its directory.
    Zombies are left out: this machine's init reaps orphans on a schedule of
    its own."""
    assert server.netns is not None
    netns = os.stat(f"/run/netns/{server.netns}").st_ino
    own = server.process.pid if server.process is not None else None
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            stat = (entry / "stat").read_text()
            state, parent = stat.rsplit(")", 1)[1].split()[:2]
            if state == "Z" or (own is not None and int(parent) == own
                                and stat.split(" ", 2)[1] == "(warden-spawner)"):  # fmt: skip
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cgroups = (entry / "cgroup").read_text()
            in_netns = os.stat(entry / "ns" / "net").st_ino == netns
        except OSError:
            continue
        if in_netns or server.cgroup_parent in cgroups or str(server.base) in cmdline:
            found.add((int(entry.name), cmdline))
    return found


def destroys_finished(server: LinuxTestServer) -> bool:
    """Whether every destroy this server answered has finished its last part
    (after the answer: the firewall, the cgroups, the disk layer and the
    directory, moved into the depot's ``.trash``): the trash is empty and no
    process works there."""
    trash = Path(server.depot) / ".trash"
    with contextlib.suppress(FileNotFoundError):
        if any(trash.iterdir()):
            return False
    return not any(str(trash) in cmdline for _, cmdline in host_processes(server))


def wait_for_destroys(server: LinuxTestServer, timeout: float = REQUEST_TIMEOUT) -> None:
    """Wait until ``destroys_finished``: a destroyed container leaves nothing
    once then."""
    wait_until(lambda: destroys_finished(server), timeout, "the destroys to finish")


def host_snapshot(server: LinuxTestServer) -> dict[str, Any]:
    """What this server's containers could leave on the host: mounts, cgroups,
    links, routes and firewall rules of its namespace, loop devices, processes,
    depot entries (the trash's too). Compare two snapshots to find a leak.
    Destroys answered are let finish first (for a while: what is still left
    then shows in the snapshot)."""
    assert server.netns is not None
    with contextlib.suppress(AssertionError):
        wait_for_destroys(server, timeout=30.0)
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
        "trash": sorted(_entries(Path(server.depot) / ".trash")),
    }


def _entries(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except FileNotFoundError:
        return []
