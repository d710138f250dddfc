"""cgroup v2: one unified hierarchy, ``<root>/<parent>/instance-<id>``.

Values are translated to cgroup v1's units and names, so that LimitMemory,
LimitCpu and Info mean the same on every host:

- memory: ``memory.max`` (``max`` reads as ``UNLIMITED``), and
  ``memory.swap.max`` = 0 where swap is controlled: v1's memory-plus-swap limit
  equal to the memory limit leaves no room for swap either;
- cpu: shares <-> ``cpu.weight`` with the conversion of the OCI runtimes
  (crun, runc): the shares range 2..262144 mapped linearly onto the weights
  1..10000. Many shares share one weight, so the shares last written read back
  exactly as long as the weight is unchanged; the server writes the default
  (1024 shares) at start and every limit again after a restart, so a
  container always reads back what it was given;
- ``memory.stat`` keys renamed to their v1 names (``file`` -> ``cache``, ``anon``
  -> ``rss``, ...); v2 statistics are hierarchical, so ``total_*`` repeat them.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._files import UNLIMITED, read_keyed, read_limit, write_value
from ._interface import CpuUsage, OomWatch, instance_relative
from ._oom import FileWatcher, MemoryEventsOomWatch

__all__ = ["DEFAULT_SHARES", "CgroupV2", "shares_to_weight", "weight_to_shares"]

MIN_SHARES, MAX_SHARES = 2, 262144
MIN_WEIGHT, MAX_WEIGHT = 1, 10000

#: v1 memory.stat name <- v2 memory.stat name.
_STAT_NAMES = {
    "cache": "file",
    "rss": "anon",
    "mapped_file": "file_mapped",
    "pgfault": "pgfault",
    "pgmajfault": "pgmajfault",
    "inactive_anon": "inactive_anon",
    "active_anon": "active_anon",
    "inactive_file": "inactive_file",
    "active_file": "active_file",
    "unevictable": "unevictable",
}


#: What a v1 cgroup starts with, and what a new v2 container gets.
DEFAULT_SHARES = 1024


def shares_to_weight(shares: int) -> int:
    """cgroup v1 cpu shares -> v2 cpu.weight (OCI: 2..262144 onto 1..10000)."""
    shares = min(max(shares, MIN_SHARES), MAX_SHARES)
    return MIN_WEIGHT + (shares - MIN_SHARES) * (MAX_WEIGHT - MIN_WEIGHT) // (
        MAX_SHARES - MIN_SHARES
    )


def weight_to_shares(weight: int) -> int:
    """v2 cpu.weight -> cgroup v1 cpu shares (the inverse; the lowest shares of that weight)."""
    weight = min(max(weight, MIN_WEIGHT), MAX_WEIGHT)
    span_shares, span_weight = MAX_SHARES - MIN_SHARES, MAX_WEIGHT - MIN_WEIGHT
    # Ceiling division: the smallest shares that shares_to_weight maps onto ``weight``.
    return MIN_SHARES + -(-(weight - MIN_WEIGHT) * span_shares // span_weight)


class CgroupV2:
    """A container's cgroup on a v2 host (see ``ContainerCgroup`` for the methods)."""

    version = 2
    # One per live container: no instance dict, and only shared strings kept.
    __slots__ = ("_container_id", "_parent", "_root", "_written_shares")

    def __init__(self, root: Path, parent: str, container_id: str) -> None:
        self._root = root
        self._parent = parent
        self._container_id = container_id
        self._written_shares: tuple[int, int] | None = None  # (shares, weight)

    @property
    def relative(self) -> str:
        """``<parent>/instance-<id>``: the container's path under the root."""
        return instance_relative(self._parent, self._container_id)

    @property
    def path(self) -> Path:
        """The container's cgroup directory."""
        return self._root / self.relative

    def exists(self) -> bool:
        return self.path.is_dir()

    # -- memory --

    def memory_limit(self) -> int:
        limit = read_limit(self.path / "memory.max")
        return UNLIMITED if limit is None else limit

    def set_memory_limit(self, limit_in_bytes: int) -> None:
        self._refuse_below_usage(limit_in_bytes)
        swap = self.path / "memory.swap.max"
        if swap.exists():
            write_value(swap, 0)
        write_value(self.path / "memory.max", limit_in_bytes)

    def _refuse_below_usage(self, limit_in_bytes: int) -> None:
        """As v1 does: a limit below what cannot be reclaimed fails with EBUSY.

        v2 would take such a limit and let the OOM killer meet it. So the
        difference is reclaimed first (``memory.reclaim``, page cache and
        the like); what still exceeds the limit refuses it, nothing killed.
        """
        current_file = self.path / "memory.current"
        if not current_file.exists():
            return
        current = read_keyed_single(current_file)
        if current <= limit_in_bytes:
            return
        reclaim = self.path / "memory.reclaim"
        if reclaim.exists():
            with contextlib.suppress(OSError):  # EAGAIN: not all of it could be
                write_value(reclaim, current - limit_in_bytes)
        if read_keyed_single(current_file) > limit_in_bytes:
            raise OSError(errno.EBUSY, "the container uses more memory than the limit")

    def memory_stat(self) -> dict[str, int]:
        raw = read_keyed(self.path / "memory.stat")
        stat = {v1: raw[v2] for v1, v2 in _STAT_NAMES.items() if v2 in raw}
        swap_file = self.path / "memory.swap.current"
        if swap_file.exists():
            stat["swap"] = read_keyed_single(swap_file)
        stat.update({f"total_{name}": value for name, value in stat.items()})
        memory_max = read_limit(self.path / "memory.max")
        stat["hierarchical_memory_limit"] = UNLIMITED if memory_max is None else memory_max
        swap_max_file = self.path / "memory.swap.max"
        swap_max = read_limit(swap_max_file) if swap_max_file.exists() else None
        if memory_max is None or swap_max is None:
            stat["hierarchical_memsw_limit"] = UNLIMITED
        else:
            stat["hierarchical_memsw_limit"] = memory_max + swap_max
        return stat

    def oom_kill_count(self) -> int | None:
        return read_keyed(self.path / "memory.events").get("oom_kill")

    def watch_oom(self, reactor: Any, files: FileWatcher, on_oom: Callable[[], None]) -> OomWatch:
        return MemoryEventsOomWatch.start(files, self.path / "memory.events", on_oom)

    # -- cpu --

    def cpu_shares(self) -> int:
        weight = read_limit(self.path / "cpu.weight")
        if weight is None:
            raise ValueError(f"{self.path / 'cpu.weight'}: unexpected 'max'")
        if self._written_shares is not None and self._written_shares[1] == weight:
            return self._written_shares[0]
        return weight_to_shares(weight)

    def set_cpu_shares(self, shares: int) -> None:
        weight = shares_to_weight(shares)
        write_value(self.path / "cpu.weight", weight)
        self._written_shares = (min(max(shares, MIN_SHARES), MAX_SHARES), weight)

    def cpu_usage(self) -> CpuUsage:
        stat = read_keyed(self.path / "cpu.stat")
        ticks_per_second = os.sysconf("SC_CLK_TCK")
        try:
            return CpuUsage(
                usage=stat["usage_usec"] * 1000,
                user=stat["user_usec"] * ticks_per_second // 1_000_000,
                system=stat["system_usec"] * ticks_per_second // 1_000_000,
            )
        except KeyError as missing:
            raise ValueError(f"{self.path / 'cpu.stat'}: no {missing} line") from None

    # -- pids --

    def pids_limit(self) -> int | None:
        return read_limit(self.path / "pids.max")

    def set_pids_limit(self, limit: int | None) -> None:
        write_value(self.path / "pids.max", "max" if limit is None else limit)

    # -- membership --

    def contains_process(self, pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/cgroup", encoding="utf-8") as file:
                lines = file.read().splitlines()
        except OSError:
            return False
        mine = "/" + self.relative
        for line in lines:
            if line.startswith("0::"):
                path = line[3:]
                return path == mine or path.startswith(mine + "/")
        return False


def read_keyed_single(path: Path) -> int:
    """A file holding one integer."""
    limit = read_limit(path)
    if limit is None:
        raise ValueError(f"{path}: expected an integer, found 'max'")
    return limit
