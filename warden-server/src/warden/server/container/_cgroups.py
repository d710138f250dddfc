# -*- test-case-name: tests_linux.test_jobs -*-
"""Where a Linux container's cgroups are (cgroup v1).

Each controller's hierarchy is mounted somewhere (``/sys/fs/cgroup/<name>``
on Debian); a container's directory in it is
``<mount>/<cgroup_parent>/instance-<container id>``. The root scripts find
the same mounts the same way (``root-scripts/linux/lib/common.sh``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["CONTROLLERS", "ContainerCgroups", "cgroup_mounts", "init_in_cgroup"]

#: The controllers every container has a directory in.
CONTROLLERS = ("cpu", "cpuacct", "memory", "devices", "pids", "freezer")


def _unescape(field: str) -> str:
    """Undo mountinfo's octal escapes (``\\040`` is a space)."""
    if "\\" not in field:
        return field
    return field.encode().decode("unicode_escape")


def cgroup_mounts(mountinfo: str = "/proc/self/mountinfo") -> dict[str, str]:
    """Controller name -> mount point of the cgroup v1 hierarchy holding it.

    Only mounts of a hierarchy's root count; the first one of each wins.
    """
    mounts: dict[str, str] = {}
    with open(mountinfo) as handle:
        for line in handle:
            fields = line.split()
            try:
                dash = fields.index("-", 6)
            except ValueError:
                continue
            if fields[dash + 1] != "cgroup" or fields[3] != "/":
                continue
            for option in fields[dash + 3].split(","):
                mounts.setdefault(option, _unescape(fields[4]))
    return mounts


@dataclass(frozen=True)
class ContainerCgroups:
    """The cgroup directories of one container."""

    parent: str
    container_id: str
    mounts: Mapping[str, str]

    @property
    def relative(self) -> str:
        """The path inside each hierarchy, as ``/proc/<pid>/cgroup`` shows it."""
        return f"/{self.parent}/instance-{self.container_id}"

    def path(self, controller: str) -> str:
        """The container's directory in ``controller``'s hierarchy."""
        return self.mounts[controller] + self.relative

    def file(self, controller: str, name: str) -> str:
        """A control file, e.g. ``file("memory", "memory.limit_in_bytes")``."""
        return os.path.join(self.path(controller), name)


def init_in_cgroup(pid: int, cgroups: ContainerCgroups) -> bool:
    """Whether process ``pid`` lives and is in the container's freezer cgroup.

    This tells the container's init from an unrelated process that got its
    pid after the init died.
    """
    try:
        with open(f"/proc/{pid}/cgroup") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return False
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "freezer" in controllers.split(",") and path == cgroups.relative:
            return True
    return False
