"""Real kernel objects for the limits tests: cgroups, processes in them, a fake container's layer.

Everything made here carries a unique ``warden-limits-test-<hex>`` name and is
removed by the fixture that made it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "cpu", "cpuacct", "pids", "freezer")
DISK_SCRIPT = Path(__file__).resolve().parents[2] / "root-scripts" / "linux" / "disk.sh"

T = TypeVar("T")


def resolve(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (the test command runner is synchronous)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise AssertionError("coroutine suspended: it awaited something not synchronous")


def wait_until(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    """Wait for something the kernel does asynchronously; fail (not hang) if it never happens."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.02)


@dataclass(frozen=True)
class Result:
    """What ``run_command`` returns (the fields of the server's ScriptResult)."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: bytes
    stderr: bytes


async def run_command(
    argv: Sequence[str], *, env: Mapping[str, object] | None = None, check: bool = True
) -> Result:
    """A synchronous stand-in for the server's ``run_script`` (tests only)."""
    full_env = dict(os.environ)
    full_env.update({key: str(value) for key, value in (env or {}).items()})
    done = subprocess.run(list(argv), env=full_env, capture_output=True, check=False, timeout=300)
    result = Result(tuple(argv), done.returncode, done.stdout, done.stderr)
    if check and done.returncode != 0:
        raise AssertionError(f"{argv} failed: {done.stderr.decode()}")
    return result


class CgroupSandbox:
    """Test cgroups ``<root>/<controller>/<parent>/instance-<id>`` and processes in them."""

    def __init__(self, parent: str) -> None:
        self.parent = parent
        self.instances: list[str] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    def create(self, container_id: str) -> None:
        for controller in CONTROLLERS:
            (CGROUP_ROOT / controller / self.parent / f"instance-{container_id}").mkdir(
                parents=True
            )
        self.instances.append(container_id)

    def directory(self, controller: str, container_id: str) -> Path:
        return CGROUP_ROOT / controller / self.parent / f"instance-{container_id}"

    def spawn(self, container_id: str, script: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        """Start ``bash -c script`` already inside the container's cgroups."""
        joins = " ".join(
            f"echo $$ > {self.directory(c, container_id)}/cgroup.procs;" for c in CONTROLLERS
        )
        process = subprocess.Popen(["bash", "-c", f"{joins} {script}"], **kwargs)
        self.processes.append(process)
        return process

    def pids(self, container_id: str) -> list[int]:
        text = (self.directory("memory", container_id) / "cgroup.procs").read_text()
        return [int(pid) for pid in text.split()]

    def kill_all(self, container_id: str) -> None:
        """Kill every process of the container (frozen first: a fork bomb cannot outrun it)."""
        freezer = self.directory("freezer", container_id)
        if not freezer.exists():
            return
        (freezer / "freezer.state").write_text("FROZEN")
        wait_until(lambda: (freezer / "freezer.state").read_text().strip() == "FROZEN", "freeze")
        for pid in (int(p) for p in (freezer / "cgroup.procs").read_text().split()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        (freezer / "freezer.state").write_text("THAWED")
        wait_until(lambda: not (freezer / "cgroup.procs").read_text().split(), "cgroup empty")

    def remove(self) -> None:
        for container_id in self.instances:
            self.kill_all(container_id)
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        for controller in CONTROLLERS:
            parent = CGROUP_ROOT / controller / self.parent
            for container_id in self.instances:
                directory = parent / f"instance-{container_id}"
                if directory.exists():
                    directory.rmdir()
            if parent.exists():
                parent.rmdir()


class LayerContainer:
    """A stand-in for a Linux container's file system, as the linux backend makes it.

    A process in a private mount namespace mounts the disk layer at
    ``<container>/tmp/rootfs`` (``disk.sh mount``) and an overlay of a small
    lower directory with ``tmp/rootfs/upper`` at ``<container>/mnt``, then
    sleeps. Commands run in that namespace through ``nsenter``. Only the mount
    namespace is private: nothing else about it is a container.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lower = path / "lower"
        self.merged = path / "mnt"
        self.process: subprocess.Popen[bytes] | None = None
        (path / "tmp" / "rootfs" / "etc").mkdir(parents=True)
        (path / "tmp" / "rootfs" / "etc" / "hostname").write_text("layer-test\n")
        self.lower.mkdir()
        (self.lower / "from-lower").write_text("lower\n")
        self.merged.mkdir()

    def start(self) -> None:
        layer = self.path / "tmp" / "rootfs"
        script = (
            f"DISK_IMAGE={self.path}/tmp/disk.img DISK_MOUNT={layer} {DISK_SCRIPT} mount && "
            f"mount -t overlay overlay -o lowerdir={self.lower},upperdir={layer}/upper,"
            f"workdir={layer}/work {self.merged} && echo ready && exec sleep 3600"
        )
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline() == b"ready\n", "the layer did not mount"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def live_root(self) -> Path | None:
        """The overlay as the server would reach it: through ``/proc/<pid>/root``."""
        if not self.running:
            return None
        assert self.process is not None
        return Path(f"/proc/{self.process.pid}/root{self.merged}")

    def sh(self, command: str) -> subprocess.CompletedProcess[str]:
        """Run ``command`` in the container's mount namespace, in its root directory."""
        assert self.process is not None
        return subprocess.run(
            ["nsenter", "-t", str(self.process.pid), "-m", "bash", "-c",
             f"cd {self.merged} && {command}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip

    def write(self, name: str, size: int) -> subprocess.CompletedProcess[str]:
        """Write ``size`` bytes to ``name`` in the container."""
        return self.sh(f"yes abcdefghijklmno | head -c {size} > {name}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait()


def loop_devices_of(image: Path) -> list[str]:
    """Loop devices backed by ``image`` (by backing path, so a removed image still shows)."""
    devices = []
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        name = backing.read_text().strip().removesuffix(" (deleted)")
        if name == str(image):
            devices.append(backing.parent.parent.name)
    return devices


def mounts_under(path: Path) -> list[str]:
    """Mount points under ``path`` in this (the host's) mount namespace."""
    with open("/proc/self/mountinfo", encoding="utf-8") as file:
        points = [line.split()[4] for line in file]
    return [p for p in points if p == str(path) or p.startswith(f"{path}/")]
