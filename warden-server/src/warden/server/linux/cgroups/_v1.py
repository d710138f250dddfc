"""cgroup v1: one hierarchy per controller, ``<root>/<controller>/<parent>/instance-<id>``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ._files import read_int, read_keyed, read_limit, write_value
from ._interface import CpuUsage, OomWatch, instance_relative
from ._oom import EventfdOomWatch, FileWatcher

__all__ = ["CgroupV1"]

#: The controllers the limits code touches (cpuacct may be co-mounted with cpu;
#: ``<root>/cpuacct`` is then a symbolic link, which works the same).
CONTROLLERS = ("memory", "cpu", "cpuacct", "pids")

_NO_MOUNTS: Mapping[str, Path] = {}


class CgroupV1:
    """A container's cgroups on a v1 host (see ``ContainerCgroup`` for the methods)."""

    version = 1
    # One per live container: no instance dict, and only shared strings kept.
    __slots__ = ("_container_id", "_mounts", "_parent", "root")

    def __init__(
        self,
        root: Path,
        parent: str,
        container_id: str,
        *,
        mounts: Mapping[str, Path] | None = None,
    ) -> None:
        """``mounts``: controller -> mount point (default ``root/<controller>``)."""
        self.root = root
        self._parent = parent
        self._container_id = container_id
        self._mounts = mounts or _NO_MOUNTS

    @property
    def relative(self) -> str:
        """``<parent>/instance-<id>``: the container's path in each hierarchy."""
        return instance_relative(self._parent, self._container_id)

    def path(self, controller: str) -> Path:
        """The container's directory in one controller's hierarchy."""
        return self._mounts.get(controller, self.root / controller) / self.relative

    def exists(self) -> bool:
        return self.path("memory").is_dir()

    # -- memory --

    def memory_limit(self) -> int:
        return read_int(self.path("memory") / "memory.limit_in_bytes")

    def set_memory_limit(self, limit_in_bytes: int) -> None:
        memory = self.path("memory")
        files = [memory / "memory.limit_in_bytes"]
        memsw = memory / "memory.memsw.limit_in_bytes"
        if memsw.exists():  # only where the host accounts swap
            files.append(memsw)
        # The kernel keeps limit <= memsw limit at every step: when raising,
        # memsw goes first; when lowering, the plain limit goes first.
        if self.memory_limit() < limit_in_bytes:
            files.reverse()
        for file in files:
            write_value(file, limit_in_bytes)

    def memory_stat(self) -> dict[str, int]:
        return read_keyed(self.path("memory") / "memory.stat")

    def oom_kill_count(self) -> int | None:
        return read_keyed(self.path("memory") / "memory.oom_control").get("oom_kill")

    def watch_oom(self, reactor: Any, files: FileWatcher, on_oom: Callable[[], None]) -> OomWatch:
        return EventfdOomWatch.start(reactor, self.path("memory"), on_oom)

    # -- cpu --

    def cpu_shares(self) -> int:
        return read_int(self.path("cpu") / "cpu.shares")

    def set_cpu_shares(self, shares: int) -> None:
        write_value(self.path("cpu") / "cpu.shares", shares)

    def cpu_usage(self) -> CpuUsage:
        cpuacct = self.path("cpuacct")
        ticks = read_keyed(cpuacct / "cpuacct.stat")
        return CpuUsage(
            usage=read_int(cpuacct / "cpuacct.usage"),
            user=_required(ticks, "user", cpuacct / "cpuacct.stat"),
            system=_required(ticks, "system", cpuacct / "cpuacct.stat"),
        )

    # -- pids --

    def pids_limit(self) -> int | None:
        return read_limit(self.path("pids") / "pids.max")

    def set_pids_limit(self, limit: int | None) -> None:
        write_value(self.path("pids") / "pids.max", "max" if limit is None else limit)

    # -- membership --

    def contains_process(self, pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/cgroup", encoding="utf-8") as file:
                lines = file.read().splitlines()
        except OSError:
            return False
        mine = "/" + self.relative
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(","):
                return path == mine or path.startswith(mine + "/")
        return False


def _required(values: dict[str, int], key: str, path: Path) -> int:
    try:
        return values[key]
    except KeyError:
        raise ValueError(f"{path}: no '{key}' line") from None
