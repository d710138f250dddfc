"""Which cgroup version the host runs, and a container's cgroups for it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ._interface import ContainerCgroup
from ._layout import DEFAULT_CGROUP_ROOT, CgroupLayout
from ._v1 import CgroupV1
from ._v2 import CgroupV2

__all__ = ["DEFAULT_CGROUP_ROOT", "cgroup_version", "container_cgroup", "host_layout"]


def cgroup_version(root: Path = DEFAULT_CGROUP_ROOT) -> int:
    """2 when ``root`` is a unified (v2) hierarchy, else 1.

    A hybrid host (v1 controllers, plus a cgroup2 mount without them at
    ``root/unified``) counts as v1: the controllers the limits need are in the
    v1 hierarchies.
    """
    return 2 if (root / "cgroup.controllers").is_file() else 1


@lru_cache(maxsize=16)
def host_layout(parent: str, root: Path = DEFAULT_CGROUP_ROOT) -> CgroupLayout:
    """The layout under ``root`` for containers under ``parent`` (detected once per process;
    host preparation clears the cache when it mounts a hierarchy)."""
    return CgroupLayout.detect(parent, root)


def layout_cgroup(layout: CgroupLayout, container_id: str) -> ContainerCgroup:
    """The limits view (control files) of container ``container_id`` in ``layout``."""
    if layout.version == 2:
        return CgroupV2(layout.root, layout.parent, container_id)
    return CgroupV1(layout.root, layout.parent, container_id, mounts=layout.mounts)


def container_cgroup(
    container_id: str, parent: str, *, root: Path = DEFAULT_CGROUP_ROOT, version: int | None = None
) -> ContainerCgroup:
    """The cgroups of container ``container_id`` under ``parent`` (``instance-<id>``)."""
    if version is None:
        return layout_cgroup(host_layout(parent, root), container_id)
    if version == 1:
        return CgroupV1(root, parent, container_id)
    if version == 2:
        return CgroupV2(root, parent, container_id)
    raise ValueError(f"unknown cgroup version {version}")
