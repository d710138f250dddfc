"""What the limits code needs from a container's cgroups, on v1 and on v2 alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ._oom import FileWatcher

__all__ = ["ContainerCgroup", "CpuUsage", "OomWatch", "instance_relative"]


def instance_relative(parent: str, container_id: str) -> str:
    """``<parent>/instance-<id>``: a container's path under each hierarchy's root."""
    return f"{parent}/instance-{container_id}"


@dataclass(frozen=True)
class CpuUsage:
    """Info's cpu_stat: total usage in nanoseconds, user and system time in USER_HZ ticks."""

    usage: int
    user: int
    system: int


class OomWatch(Protocol):
    """A running out-of-memory notification; ``stop`` is idempotent."""

    @property
    def active(self) -> bool:
        """Still watching (not stopped, cgroup not removed)."""
        ...

    def stop(self) -> None:
        """Stop watching and release the file descriptors."""
        ...


class ContainerCgroup(Protocol):
    """One container's cgroups (``instance-<id>`` under the server's parent).

    Reads and writes raise ``OSError`` or ``ValueError``; the caller turns them
    into the request's error. Values use cgroup v1's units and names on both
    versions (bytes, cpu shares, ``memory.stat`` keys), so that clients see
    the same thing on every host.
    """

    version: int

    def exists(self) -> bool:
        """The container's memory cgroup directory exists."""
        ...

    def memory_limit(self) -> int:
        """The memory limit in bytes (unlimited reads as ``UNLIMITED``)."""
        ...

    def set_memory_limit(self, limit_in_bytes: int) -> None:
        """Limit memory, and memory plus swap where the host accounts swap."""
        ...

    def cpu_shares(self) -> int:
        """The relative cpu weight, in cgroup v1 shares."""
        ...

    def set_cpu_shares(self, shares: int) -> None:
        """Set the relative cpu weight, in cgroup v1 shares."""
        ...

    def pids_limit(self) -> int | None:
        """The most tasks the container may have (None: no limit)."""
        ...

    def set_pids_limit(self, limit: int | None) -> None:
        """Bound the number of tasks (None: no limit)."""
        ...

    def memory_stat(self) -> dict[str, int]:
        """``memory.stat`` with v1 key names (v2's are translated)."""
        ...

    def cpu_usage(self) -> CpuUsage:
        """Cpu time used by the container's processes."""
        ...

    def oom_kill_count(self) -> int | None:
        """How many processes the OOM killer killed in the cgroup (None: kernel does not say)."""
        ...

    def watch_oom(self, reactor: Any, files: FileWatcher, on_oom: Callable[[], None]) -> OomWatch:
        """Call ``on_oom`` from the reactor each time the OOM killer acts in the cgroup.

        v1 registers an eventfd with ``reactor``; v2 watches ``memory.events`` with ``files``.
        """
        ...

    def contains_process(self, pid: int) -> bool:
        """Process ``pid`` is in this container's cgroup."""
        ...
