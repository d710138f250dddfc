"""Fixtures for the escapes suite: a Linux server, a probe, a host secret,
host processes and host listeners to escape to.

The session's server is ``warden.server.testing.linux_server`` named
``escape``: it runs in a private network namespace, with a unique depot,
socket and cgroup parent.
On top of them, for the session (all removed at the end):

- ``/tmp/warden-escapes-<token>/probe/probe``: ``probe.c`` built static, which
  every container gets read-only at ``/opt/escape-probe`` (a bind mount);
- ``/tmp/warden-escapes-<token>/secret/secret.txt``: a world-readable host
  file no container may read, and a host process whose working directory
  is that directory;
- a listener (``_net.py``) in the server's network namespace, the containers'
  host: TCP and UDP on every IPv4 and IPv6 address, and an abstract unix
  socket; it records every connection and datagram it gets.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from warden.client import Client, ServerError
from warden.protocol import CreateRequest
from warden.server import testing, testing_fixtures
from warden.server.testing import REQUEST_TIMEOUT as TIMEOUT
from warden.server.testing import LinuxTestServer, sh

# The suites' shared fixtures (on this suite's ``server``).
client = testing_fixtures.client
make_container = testing_fixtures.make_container
netns = testing_fixtures.netns
rootfs = testing_fixtures.rootfs


__all__ = [
    "PROBE",
    "Attempt",
    "HostListener",
    "HostSecret",
    "LinuxServer",
    "sh",
]

HERE = Path(__file__).resolve().parent
TOKEN = testing.unique_token()
BASE = Path(f"/tmp/warden-escapes-{TOKEN}")
#: Where every container sees the probe.
PROBE = "/opt/escape-probe/probe"
USERS = ("vcap", "root")
#: The name the test modules use.
LinuxServer = LinuxTestServer


@pytest.fixture(scope="session")
def server(rootfs: Path) -> Iterator[LinuxTestServer]:
    """The session's server (tests that restart it leave it running)."""
    with testing.linux_server("escape", rootfs=rootfs) as made:
        yield made


@pytest.fixture(scope="session")
def base_dir() -> Iterator[Path]:
    BASE.mkdir(mode=0o755)
    try:
        yield BASE
    finally:
        shutil.rmtree(BASE, ignore_errors=True)


@pytest.fixture(scope="session")
def probe_dir(base_dir: Path) -> Path:
    """A directory (0755, for vcap) holding the static probe."""
    directory = base_dir / "probe"
    directory.mkdir(mode=0o755)
    subprocess.run(["cc", "-static", "-O2", "-Wall", "-Wextra", "-Werror",
                    "-o", str(directory / "probe"), str(HERE / "probe.c")],
                   check=True)  # fmt: skip
    return directory


@dataclass(frozen=True)
class HostSecret:
    """A host file and a host process whose cwd holds it."""

    directory: Path
    file: Path
    text: str
    process: subprocess.Popen[bytes]
    #: What the process is called (argv[0]), to look for from inside.
    marker: str


@pytest.fixture(scope="session")
def host_secret(base_dir: Path) -> Iterator[HostSecret]:
    directory = base_dir / "secret"
    directory.mkdir(mode=0o755)
    text = f"host secret {TOKEN}\n"
    (directory / "secret.txt").write_text(text)
    (directory / "secret.txt").chmod(0o644)
    marker = f"warden-escapes-host-{TOKEN}"
    process = subprocess.Popen(["bash", "-c", f"exec -a {marker} sleep 100000"], cwd=directory)
    try:
        yield HostSecret(directory, directory / "secret.txt", text, process, marker)
    finally:
        process.kill()
        process.wait()


def container_with_probe(client: Client, probe_dir: Path, **fields: Any) -> str:
    """Create a container that sees the probe at /opt/escape-probe."""
    mount = CreateRequest.BindMount(src_path=str(probe_dir), dst_path="/opt/escape-probe",
                                    mode=CreateRequest.BindMount.RO)  # fmt: skip
    return client.create(bind_mounts=[mount], timeout=TIMEOUT, **fields).handle


@pytest.fixture(scope="module")
def shared(server: LinuxServer, probe_dir: Path) -> Iterator[str]:
    """One container for a module's attempts that change nothing in it."""
    with server.client() as c:
        handle = container_with_probe(c, probe_dir)
    yield handle
    with server.client() as c, contextlib.suppress(ServerError):
        c.destroy(handle, timeout=TIMEOUT)


@pytest.fixture
def fresh(server: LinuxServer, probe_dir: Path) -> Iterator[Callable[[], str]]:
    """fresh() -> a new container with the probe, destroyed after the test."""
    handles: list[str] = []

    def make() -> str:
        with server.client() as c:
            handles.append(container_with_probe(c, probe_dir))
        return handles[-1]

    yield make
    with server.client() as c:
        for handle in handles:
            with contextlib.suppress(ServerError):
                c.destroy(handle, timeout=TIMEOUT)


class Attempt:
    """Runs attempts in a container as vcap or as a privileged job."""

    def __init__(self, client: Client, handle: str, user: str) -> None:
        assert user in USERS
        self.client, self.handle, self.user = client, handle, user

    @property
    def privileged(self) -> bool:
        return self.user == "root"

    def shell(self, script: str, *, check: bool = True) -> str:
        """Run a bash script; its stdout (it must exit 0 when check)."""
        response = self.client.run(self.handle, script, privileged=self.privileged,
                                   timeout=TIMEOUT)  # fmt: skip
        if check:
            assert response.exit_status == 0, (response.exit_status, response.stderr)
        return response.stdout.decode()

    def probe(self, *args: str) -> dict[str, str]:
        """Run a probe command; its "NAME RESULT" lines as a dict."""
        text = self.shell(" ".join([PROBE, *(_quote(a) for a in args)]))
        return dict(line.split(" ", 1) for line in text.splitlines())

    def read(self, path: str) -> str:
        """A file's text as the container shows it, or its errno name."""
        return self.shell(f"{PROBE} read {_quote(path)}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


@pytest.fixture(params=USERS)
def user(request: pytest.FixtureRequest) -> str:
    """Each attempt runs as vcap and as a privileged (root) job."""
    return str(request.param)


@pytest.fixture
def inside(client: Client, shared: str, user: str) -> Attempt:
    return Attempt(client, shared, user)


def container_info(client: Client, handle: str) -> tuple[str, str, str]:
    """(container id, host-side ip, container ip)."""
    info = client.info(handle, timeout=TIMEOUT)
    return os.path.basename(info.container_path), info.host_ip, info.container_ip


def init_pid(client: Client, handle: str) -> int:
    path = Path(client.info(handle, timeout=TIMEOUT).container_path)
    return int((path / "run" / "init.pid").read_text())


def host_pids_of(server: LinuxServer, client: Client, handle: str) -> list[int]:
    """Host pids of a container's processes (its freezer cgroup)."""
    cid = container_info(client, handle)[0]
    procs = server.cgroup_dir("freezer", cid) / "cgroup.procs"
    return [int(pid) for pid in procs.read_text().split()]


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class HostListener:
    """The ``_net.py listen`` process in the server's network namespace."""

    def __init__(self, netns: str, log: Path) -> None:
        self.log = log
        self.abstract = f"warden-escapes-{TOKEN}"
        self.process = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{netns}", sys.executable, str(HERE / "_net.py"),
             "listen", str(log), self.abstract],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.fullmatch(r"ready (\d+)\n", line)
        assert match, f"listener did not start: {line!r}"
        self.port = int(match.group(1))

    def events(self) -> list[str]:
        """Every connection and datagram so far: "tcp PEER", "udp PEER DATA", "unix"."""
        return self.log.read_text().splitlines()

    def wait_for(self, count: int) -> list[str]:
        """The events once there are at least `count` (the listener logs asynchronously)."""
        deadline = time.monotonic() + 10
        while len(events := self.events()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return events

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(10)


@pytest.fixture(scope="session")
def listener(netns: str, base_dir: Path) -> Iterator[HostListener]:
    running = HostListener(netns, base_dir / "listener.log")
    try:
        yield running
    finally:
        running.stop()


def in_netns(netns: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``_net.py`` with argv in a network namespace (a path or a name)."""
    path = netns if netns.startswith("/") else f"/run/netns/{netns}"
    return subprocess.run(
        ["nsenter", f"--net={path}", sys.executable, str(HERE / "_net.py"), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


__all__ += ["TIMEOUT", "alive", "container_info", "host_pids_of", "in_netns", "init_pid"]
