"""Where the server's and each container's cgroups are: the one description of the layout.

Three kinds of host exist:

- cgroup v1: one hierarchy per controller (Debian mounts them at
  ``/sys/fs/cgroup/<controller>``); a container has a directory
  ``<mount>/<parent>/instance-<id>`` in each of ``V1_CONTROLLERS``;
- hybrid: the v1 hierarchies plus a cgroup2 mount without controllers
  (``/sys/fs/cgroup/unified``); containers use the v1 hierarchies;
- cgroup v2 (unified): one hierarchy at the root; a container has the single
  directory ``<root>/<parent>/instance-<id>``.

Everything else (the limits code, the root scripts through the variables of
``ContainerCgroupDirs.script_env``, recovery) takes its paths from here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ._devices import V1_DEVICE_RULES
from ._interface import instance_relative

__all__ = [
    "DEFAULT_CGROUP_ROOT",
    "V1_CONTROLLERS",
    "V2_CONTROLLERS",
    "CgroupLayout",
    "ContainerCgroupDirs",
    "parse_mountinfo",
]

DEFAULT_CGROUP_ROOT = Path("/sys/fs/cgroup")

#: The v1 controllers every container has a directory in.
V1_CONTROLLERS = ("cpu", "cpuacct", "memory", "devices", "pids", "freezer")

#: The v2 controllers the server enables for its containers (devices are an
#: eBPF program, freezing and killing are core files of every v2 cgroup).
V2_CONTROLLERS = ("cpu", "memory", "pids")


def _unescape(field_text: str) -> str:
    """Undo mountinfo's octal escapes (``\\040`` is a space)."""
    if "\\" not in field_text:
        return field_text
    return field_text.encode().decode("unicode_escape")


def parse_mountinfo(text: str) -> tuple[dict[str, Path], list[Path]]:
    """The cgroup mounts in ``/proc/<pid>/mountinfo`` text.

    Returns (v1 controller -> mount point of its hierarchy's root, the
    cgroup2 mount points). The first root mount of each v1 controller wins;
    co-mounted controllers (``cpu,cpuacct``) share one mount point.
    """
    v1: dict[str, Path] = {}
    v2: list[Path] = []
    for line in text.splitlines():
        fields = line.split()
        try:
            dash = fields.index("-", 6)
        except ValueError:
            continue
        if len(fields) < dash + 4 or fields[3] != "/":
            continue
        fstype, mount_point = fields[dash + 1], Path(_unescape(fields[4]))
        if fstype == "cgroup2":
            v2.append(mount_point)
        elif fstype == "cgroup":
            for option in fields[dash + 3].split(","):
                v1.setdefault(option, mount_point)
    return v1, v2


def _read_mountinfo(path: str) -> str:
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        return handle.read()


@dataclass(frozen=True, slots=True)
class ContainerCgroupDirs:
    """The cgroup directories of one container, and how the scripts are told about them.

    Holds only the host's layout (shared by every container) and the
    container's id: one is kept per live container, and its paths are made
    when asked for (``CgroupLayout.container`` builds one).
    """

    layout: CgroupLayout
    container_id: str

    @property
    def version(self) -> int:
        """1 or 2: the layout's."""
        return self.layout.version

    @property
    def relative(self) -> str:
        """``<parent>/instance-<id>``: the path under each hierarchy's root."""
        return instance_relative(self.layout.parent, self.container_id)

    @property
    def dirs(self) -> tuple[Path, ...]:
        """Every directory, each once (v1: one per hierarchy; v2: one)."""
        layout, relative = self.layout, self.relative
        if layout.version == 2:
            return (layout.root / relative,)
        return _unique(layout.mounts[c] / relative for c in V1_CONTROLLERS)

    @property
    def main(self) -> Path:
        """The directory whose processes are the container's: v1's freezer, v2's only one."""
        return self.layout.mount("freezer") / self.relative

    @property
    def devices(self) -> Path | None:
        """v1's devices cgroup directory; None on v2 (an eBPF program instead)."""
        if self.layout.version == 2:
            return None
        return self.layout.mounts["devices"] / self.relative

    @property
    def member(self) -> str:
        """What ``/proc/<pid>/cgroup`` says for a member, as ``CONTROLLER:/PATH``
        (v1: ``freezer:/<parent>/instance-<id>``; v2: ``:/<parent>/instance-<id>``)."""
        return f"{'freezer' if self.layout.version == 1 else ''}:/{self.relative}"

    def script_env(self) -> dict[str, str]:
        """The variables ``create.sh`` writes into the container's ``etc/config``.

        - ``cgroup_version``: 1 or 2;
        - ``cgroup_dir``: the main directory (freezing, signalling, listing processes);
        - ``cgroup_dirs``: every directory, one per line (made, joined, removed);
        - ``cgroup_devices``: v1's devices directory (empty on v2);
        - ``cgroup_devices_allow``: v1's ``devices.allow`` lines, one per line;
        - ``cgroup_member``: the ``CONTROLLER:/PATH`` a member process shows.
        """
        return {
            "cgroup_version": str(self.version),
            "cgroup_dir": str(self.main),
            "cgroup_dirs": "\n".join(str(d) for d in self.dirs),
            "cgroup_devices": str(self.devices) if self.devices is not None else "",
            "cgroup_devices_allow": "\n".join(V1_DEVICE_RULES) if self.version == 1 else "",
            "cgroup_member": self.member,
        }

    def contains(self, pid: int) -> bool:
        """Process ``pid`` lives and is in the container's main cgroup (or below it)."""
        # os.read, not open(): every job start and Info asks.
        try:
            fd = os.open(f"/proc/{pid}/cgroup", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            chunks = []
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
        except OSError:
            return False
        finally:
            os.close(fd)
        lines = b"".join(chunks).decode("utf-8", "replace").splitlines()
        controller, _, path = self.member.partition(":")
        for line in lines:
            parts = line.split(":", 2)
            if len(parts) != 3:
                continue
            if controller:
                if controller not in parts[1].split(","):
                    continue
            elif parts[0] != "0" or parts[1]:
                continue
            return parts[2] == path or parts[2].startswith(path + "/")
        return False


@dataclass(frozen=True)
class CgroupLayout:
    """The host's cgroup hierarchies and where the server keeps its containers."""

    version: int
    root: Path
    parent: str
    #: v1 controller -> mount point (empty on v2).
    mounts: Mapping[str, Path] = field(default_factory=dict)
    #: v1 controllers plus a cgroup2 mount (containers still use v1).
    hybrid: bool = False

    @classmethod
    def detect(
        cls,
        parent: str,
        root: Path = DEFAULT_CGROUP_ROOT,
        *,
        mountinfo: str = "/proc/self/mountinfo",
    ) -> CgroupLayout:
        """The layout of this host.

        v2 when ``mountinfo`` shows a cgroup2 mount at ``root``; v1 when it shows
        v1 hierarchies under ``root`` (hybrid when a cgroup2 mount exists too);
        otherwise what ``root`` holds says it (a test's fake tree): v2 with a
        ``cgroup.controllers`` file, else v1. On v1 the controllers no mount holds
        are expected at ``root/<controller>``, where host preparation mounts them.
        """
        v1, v2 = parse_mountinfo(_read_mountinfo(mountinfo))
        # Only hierarchies under ``root`` count (a test's fake tree is not the host's).
        v1 = {c: path for c, path in v1.items() if path.is_relative_to(root)}
        if root in v2 or (not v1 and (root / "cgroup.controllers").is_file()):
            return cls(version=2, root=root, parent=parent)
        mounts = {c: v1.get(c, root / c) for c in V1_CONTROLLERS}
        return cls(version=1, root=root, parent=parent, mounts=mounts, hybrid=bool(v2))

    def describe(self) -> str:
        """``cgroup v1``, ``cgroup v1 (hybrid)`` or ``cgroup v2``: for logs and errors."""
        if self.version == 2:
            return "cgroup v2"
        return "cgroup v1 (hybrid)" if self.hybrid else "cgroup v1"

    def mount(self, controller: str) -> Path:
        """v1: the mount point of ``controller``'s hierarchy; v2: the root."""
        if self.version == 2:
            return self.root
        return self.mounts[controller]

    def parent_dirs(self) -> tuple[Path, ...]:
        """The server's parent directory in each hierarchy, each once."""
        if self.version == 2:
            return (self.root / self.parent,)
        return _unique(self.mounts[c] / self.parent for c in V1_CONTROLLERS)

    def container(self, container_id: str) -> ContainerCgroupDirs:
        """The directories of container ``container_id``."""
        return ContainerCgroupDirs(self, container_id)


def _unique(paths: Iterable[Path]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(paths))


def own_cgroup(pid: int | None = None) -> str | None:
    """The v2 cgroup (``/path``) of process ``pid`` (default: this one); None if not shown."""
    try:
        with open(f"/proc/{pid or os.getpid()}/cgroup", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("0::"):
                    return line[3:].rstrip("\n")
    except OSError:
        return None
    return None
