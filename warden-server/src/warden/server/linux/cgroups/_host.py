"""Making the host's cgroups ready for containers, at server start.

- v1 (and hybrid): a controller no hierarchy holds is mounted on its own at
  ``<root>/<controller>`` (Debian's v1 layout) when a directory can be made there;
  the parent directory is made in every hierarchy.
- v2: the controllers of ``V2_CONTROLLERS`` are enabled in the root's
  ``cgroup.subtree_control`` and in the parent's, so that every container gets
  them. The parent is ``<root>/<parent>``, a sibling of systemd's slices, as
  container runtimes' cgroupfs drivers do: systemd leaves cgroups it did not
  make alone, and the root is exempt from the rule that a cgroup with
  controllers enabled for its children holds no process itself. Should the
  server itself have been started in the parent, it moves into the leaf
  ``<parent>/server`` first, or the parent could not enable controllers.

Errors are ``CgroupSetupError`` naming the file and what the kernel said.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

from ._detect import host_layout
from ._devices import attach_device_filter, attached_device_programs
from ._files import read_text, write_value
from ._layout import (
    DEFAULT_CGROUP_ROOT,
    V1_CONTROLLERS,
    V2_CONTROLLERS,
    CgroupLayout,
    ContainerCgroupDirs,
    own_cgroup,
)

__all__ = ["SERVER_LEAF", "CgroupSetupError", "prepare_container", "prepare_host"]

#: Where a server started inside its own parent moves itself (v2).
SERVER_LEAF = "server"


class CgroupSetupError(Exception):
    """The host's cgroups cannot hold containers; the message says why."""


def prepare_host(parent: str, root: Path = DEFAULT_CGROUP_ROOT) -> CgroupLayout:
    """Detect the layout, make it ready, and return it (``host_layout`` returns it from now on)."""
    if not parent or "/" in parent or parent in (".", ".."):
        raise CgroupSetupError(f"cgroup_parent must be a plain name: {parent!r}")
    host_layout.cache_clear()
    layout = host_layout(parent, root)
    if layout.version == 2:
        _prepare_v2(layout)
        return layout
    if _mount_missing_v1(layout):
        host_layout.cache_clear()
        layout = host_layout(parent, root)
    for directory in layout.parent_dirs():
        _mkdir(directory)
    return layout


def _mkdir(directory: Path) -> None:
    try:
        directory.mkdir(exist_ok=True)
    except OSError as problem:
        raise CgroupSetupError(f"cannot create {directory}: {problem.strerror}") from None


def _mount_missing_v1(layout: CgroupLayout) -> bool:
    """Mount the controllers no hierarchy holds; whether any was mounted."""
    missing = [c for c in V1_CONTROLLERS if not (layout.mounts[c] / "cgroup.procs").exists()]
    if not missing:
        return False
    available = {line.split()[0] for line in read_text(Path("/proc/cgroups")).splitlines()[1:]}
    for controller in missing:
        if controller not in available:
            raise CgroupSetupError(f"the kernel has no {controller} controller")
        target = layout.root / controller
        try:
            target.mkdir(exist_ok=True)
        except OSError as problem:
            raise CgroupSetupError(
                f"no cgroup v1 hierarchy holds {controller}, and {target} cannot be made "
                f"({problem.strerror}): mount it, or boot with cgroup v2"
            ) from None
        done = subprocess.run(
            ["mount", "-t", "cgroup", "-o", controller, "cgroup", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise CgroupSetupError(
                f"cannot mount the {controller} hierarchy at {target}: {done.stderr.strip()}"
            )
    return True


def _enable(directory: Path, controllers: tuple[str, ...]) -> None:
    """Enable ``controllers`` for the children of ``directory`` (those not enabled yet)."""
    try:
        available = read_text(directory / "cgroup.controllers").split()
        enabled = read_text(directory / "cgroup.subtree_control").split()
    except OSError as problem:
        raise CgroupSetupError(f"{directory} is not a cgroup v2 directory: {problem}") from None
    for controller in controllers:
        if controller in enabled:
            continue
        if controller not in available:
            raise CgroupSetupError(
                f"the {controller} controller is not available in {directory} "
                f"(cgroup.controllers: {' '.join(available) or 'none'})"
            )
        try:
            write_value(directory / "cgroup.subtree_control", f"+{controller}")
        except OSError as problem:
            hint = ""
            if problem.errno == errno.EBUSY:
                hint = " (processes sit in it: a cgroup that hands controllers down must hold none)"
            raise CgroupSetupError(
                f"cannot enable {controller} in {directory}/cgroup.subtree_control: "
                f"{problem.strerror}{hint}"
            ) from None


def _prepare_v2(layout: CgroupLayout) -> None:
    (parent,) = layout.parent_dirs()
    _enable(layout.root, V2_CONTROLLERS)
    _mkdir(parent)
    mine = own_cgroup()
    if mine == "/" + layout.parent:
        leaf = parent / SERVER_LEAF
        _mkdir(leaf)
        try:
            write_value(leaf / "cgroup.procs", os.getpid())
        except OSError as problem:
            raise CgroupSetupError(
                f"the server runs in {parent} and cannot move into {leaf}: {problem.strerror}"
            ) from None
    _enable(parent, V2_CONTROLLERS)


def prepare_container(dirs: ContainerCgroupDirs, *, restrict_devices: bool) -> None:
    """Before a container starts: on v2, its cgroup, with the device filter attached.

    Nothing of the container runs yet, so the filter is in place before any of
    its processes could open a device. On v1 the start hook makes the
    directories and writes ``devices.allow`` (the same list) itself.
    """
    if dirs.version != 2:
        return
    try:
        dirs.main.mkdir(exist_ok=True)
    except OSError as problem:
        raise CgroupSetupError(f"cannot create {dirs.main}: {problem.strerror}") from None
    if restrict_devices and attached_device_programs(dirs.main) == 0:
        attach_device_filter(dirs.main)
