"""Which cgroup version the host runs, and a container's cgroups for it."""

from __future__ import annotations

from pathlib import Path

from ._interface import ContainerCgroup
from ._v1 import CgroupV1
from ._v2 import CgroupV2

__all__ = ["DEFAULT_CGROUP_ROOT", "cgroup_version", "container_cgroup"]

DEFAULT_CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_version(root: Path = DEFAULT_CGROUP_ROOT) -> int:
    """2 when ``root`` is a unified (v2) hierarchy, else 1.

    A hybrid host (v1 controllers, plus an empty v2 tree at ``root/unified``)
    counts as v1: the controllers the limits need are in the v1 hierarchies.
    """
    return 2 if (root / "cgroup.controllers").is_file() else 1


def container_cgroup(
    container_id: str, parent: str, *, root: Path = DEFAULT_CGROUP_ROOT, version: int | None = None
) -> ContainerCgroup:
    """The cgroups of container ``container_id`` under ``parent`` (``instance-<id>``)."""
    if version is None:
        version = cgroup_version(root)
    if version == 1:
        return CgroupV1(root, parent, container_id)
    if version == 2:
        return CgroupV2(root, parent, container_id)
    raise ValueError(f"unknown cgroup version {version}")
