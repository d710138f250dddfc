"""A warden-server on its default configuration, in a private network namespace.

The configuration is ``warden-server/config/warden.yml`` (Linux backend,
networking, cgroups, loop disk limits) with only what must be private to
this run changed: socket, depot, cgroup parent, health-check port, log file.
Everything the server made is removed afterwards: its containers (by the
backend's own destroy.sh), its cgroup parent, its directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from _netns import in_netns

from warden.client import Client, ClientConnectionError
from warden.protocol import PingRequest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "warden-server" / "config" / "warden.yml"
ROOTFS = Path("/var/lib/warden/rootfs")
SERVER_BIN = Path(sys.executable).with_name("warden-server")
CONTROLLERS = ("cpu", "cpuacct", "memory", "devices", "pids", "freezer")


class BenchServer:
    """``with BenchServer(netns) as server:`` a running server; ``server.client()``."""

    def __init__(
        self,
        netns: str,
        repo: Path = REPO,
        *,
        server: dict[str, Any] | None = None,
        overrides: dict[str, dict[str, Any]] | None = None,
        stop_timeout: float = 30,
    ) -> None:
        """``server``: keys of the ``server`` section set beyond the default
        configuration (the warm pool's bench); ``overrides``: settings by
        section, over the default configuration's (the scale bench's pools);
        ``stop_timeout``: seconds the server has to exit on SIGTERM before it
        is killed."""
        self.netns = netns
        self.stop_timeout = stop_timeout
        #: The checkout whose server code and root scripts run (another one
        #: than this: its sources come first on the server's PYTHONPATH).
        self.repo = repo
        self.base = Path(tempfile.mkdtemp(prefix="warden-bench-"))
        self.base.chmod(0o755)
        self.socket_path = str(self.base / "warden.sock")
        self.depot = self.base / "depot"
        self.cgroup_parent = self.base.name
        self.process: subprocess.Popen[bytes] | None = None
        # The checkout's own default configuration: another one's server may
        # not know keys this one has added.
        config: dict[str, Any] = yaml.safe_load(
            (repo / DEFAULT_CONFIG.relative_to(REPO)).read_text()
        )
        config["server"].update(
            unix_domain_path=self.socket_path,
            container_depot_path=str(self.depot),
            container_rootfs_path=str(ROOTFS),
            root_scripts_path=str(repo / "root-scripts"),
            cgroup_parent=self.cgroup_parent,
            **(server or {}),
        )
        for section, settings in (overrides or {}).items():
            config.setdefault(section, {}).update(settings)
        config["health_check_server"]["port"] = 0
        config["logging"]["file"] = str(self.base / "server.log")
        self.config = config
        self.depot.mkdir()
        (self.base / "warden.yml").write_text(yaml.safe_dump(config))

    @property
    def pid(self) -> int:
        """The server's pid (nsenter execs it in place)."""
        assert self.process is not None
        return self.process.pid

    def client(self) -> Client:
        """A connected blocking client."""
        client = Client(self.socket_path)
        client.connect()
        return client

    def rss_kib(self) -> int:
        """The server's resident set size."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_ms(self) -> float:
        """CPU time (user and system, ms) of the server, its children (the
        spawner) and every process they have reaped (the scripts and what
        those waited for): a create's own cost, which the machine's load
        changes far less than its wall time. In clock ticks (10 ms here)."""
        pids = [self.pid]
        for children in Path(f"/proc/{self.pid}/task").glob("*/children"):
            pids += [int(pid) for pid in children.read_text().split()]
        ticks = 0
        for pid in pids:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:  # ended meanwhile
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        return ticks * 1000 / os.sysconf("SC_CLK_TCK")

    def cgroup_procs(self, container_id: str) -> list[int]:
        """Every process in a container's freezer cgroup."""
        path = Path(f"/sys/fs/cgroup/freezer/{self.cgroup_parent}/instance-{container_id}")
        return [int(p) for p in (path / "cgroup.procs").read_text().split()]

    def __enter__(self) -> BenchServer:
        argv = [str(SERVER_BIN), "--config", str(self.base / "warden.yml")]
        env = None
        if self.repo != REPO:
            argv[:1] = [sys.executable, "-m", "warden.server"]
            env = {**os.environ, "PYTHONPATH": str(self.repo / "warden-server" / "src")}
        self.process = subprocess.Popen(
            in_netns(self.netns, argv),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.base / "server.err", "wb"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(self.socket_path) as client:
                    client.call(PingRequest(), timeout=10)
                return self
            except (ClientConnectionError, FileNotFoundError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"warden-server did not start; see {self.base}") from None
                time.sleep(0.05)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        destroy = self.repo / "root-scripts" / "linux" / "destroy.sh"
        for entry in self.depot.iterdir():
            if entry.is_dir() and not entry.name.startswith("."):
                subprocess.run(
                    in_netns(self.netns, [str(destroy), str(entry)]),
                    check=False,
                )
        for controller in CONTROLLERS:
            with_parent = Path(f"/sys/fs/cgroup/{controller}/{self.cgroup_parent}")
            if with_parent.is_dir():
                with_parent.rmdir()
        if kind is None:
            shutil.rmtree(self.base, ignore_errors=True)
        else:
            print(f"(server files kept for inspection in {self.base})", file=sys.stderr)
