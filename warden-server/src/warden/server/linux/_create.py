# -*- test-case-name: tests_linux.test_lifecycle -*-
"""What a Linux container's ``create.sh`` gets: Create's options, checked.

The environment is the original's (``id``, ``network_*``, ``user_uid``,
``rootfs_path`` ...) plus ours (``cgroup_parent``, ``container_init``,
``bind_mount_<i>_src|dst|mode``). Options are checked here, before anything
is made, with the original's error texts where it had them.
"""

from __future__ import annotations

import os
import posixpath
import shutil

from warden.protocol import CreateRequest

from .._config import Config
from .._errors import WardenError

__all__ = ["create_environment", "find_init"]

_NETMASK = "255.255.255.252"


def find_init() -> str:
    """Path of the host's catatonit: a static init whose pause mode (``-P``)
    reaps orphans and runs nothing, the container's PID 1."""
    path = shutil.which("catatonit") or shutil.which("catatonit", path="/usr/bin:/usr/sbin")
    if not path:
        raise WardenError("catatonit not found (Debian package: catatonit)")
    return path


def _rootfs(request: CreateRequest, config: Config) -> str:
    if request.HasField("rootfs"):
        if not os.path.isdir(request.rootfs):
            raise WardenError(f"rootfs {request.rootfs} not found")
        return request.rootfs
    return config.server.container_rootfs_path


def _bind_mounts(request: CreateRequest) -> dict[str, str]:
    env: dict[str, str] = {"bind_mount_count": str(len(request.bind_mounts))}
    for i, mount in enumerate(request.bind_mounts):
        if not os.path.exists(mount.src_path):
            raise WardenError(f"Source path for bind mount does not exist: {mount.src_path}")
        dst = mount.dst_path
        if not dst.startswith("/") or ".." in dst.split("/"):
            raise WardenError(
                f"Destination path for bind mount must be absolute, without '..': {dst}"
            )
        env[f"bind_mount_{i}_src"] = mount.src_path
        env[f"bind_mount_{i}_dst"] = posixpath.normpath(dst)
        env[f"bind_mount_{i}_mode"] = "rw" if mount.mode == mount.RW else "ro"
    return env


def create_environment(
    request: CreateRequest,
    config: Config,
    *,
    container_id: str,
    host_ip: str,
    container_ip: str,
    uid: int,
    init: str,
) -> dict[str, str]:
    """Check Create's options and give ``create.sh`` its environment.

    Raises WardenError naming what is wrong (rootfs, a bind mount).
    """
    env = {
        "id": container_id,
        "network_host_ip": host_ip,
        "network_container_ip": container_ip,
        "network_netmask": _NETMASK,
        "container_iface_mtu": str(config.network.mtu),
        "user_uid": str(uid),
        "rootfs_path": _rootfs(request, config),
        "allow_nested_warden": "true" if config.server.allow_nested_warden else "false",
        "restrict_proc_sys": "true" if config.server.restrict_proc_sys else "false",
        "dns_servers": "\n".join(config.network.dns_servers),
        "cgroup_parent": config.server.cgroup_parent,
        "container_init": init,
    }
    env.update(_bind_mounts(request))
    return env
