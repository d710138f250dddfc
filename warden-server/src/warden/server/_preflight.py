# -*- test-case-name: tests.test_preflight -*-
"""What the server needs on disk before it may start, checked up front.

A server that cannot create a single container must not start and then fail
every request: ``problems`` lists what is missing (the backend's scripts, the
job keeper and the Linux job launcher, the containers' root filesystem) and ``_main`` refuses to
start with all of them in one message. Nothing here changes the machine.
"""

from __future__ import annotations

import os
from typing import Final

from ._config import Config

__all__ = ["BACKEND_HELPERS", "BACKEND_SCRIPTS", "problems"]

#: The scripts each backend runs, relative to ``server.root_scripts_path``.
BACKEND_SCRIPTS: Final = {
    "insecure": ("create.sh", "destroy.sh", "stop.sh", "job.sh", "copy.sh"),
    "linux": ("setup.sh", "create.sh", "destroy.sh", "job.sh", "copy.sh", "disk.sh", "net.sh"),
}

#: The static helpers each backend's scripts run (built from linux/src/<name>).
BACKEND_HELPERS: Final = {
    "insecure": ("warden-keeper",),
    "linux": ("warden-keeper", "warden-exec", "warden-start"),
}


def problems(config: Config) -> list[str]:
    """Each thing missing for ``config``'s backend, as a sentence; empty when all is there."""
    server = config.server
    root = server.root_scripts_path
    backend = config.backend
    if not os.path.isdir(os.path.join(root, backend)):
        return [
            f"server.root_scripts_path: {root} has no {backend}/ scripts "
            f"(point it at the root-scripts folder of warden)"
        ]
    found: list[str] = []
    for name in BACKEND_SCRIPTS[backend]:
        path = os.path.join(root, backend, name)
        if not os.path.isfile(path):
            found.append(f"script {path} is missing")
        elif not os.access(path, os.X_OK):
            found.append(f"script {path} is not executable")
    for name in BACKEND_HELPERS[backend]:
        helper = os.path.join(root, "linux", "bin", name)
        if not (os.path.isfile(helper) and os.access(helper, os.X_OK)):
            source = os.path.join(root, "linux", "src", name)
            found.append(
                f"the helper {helper} is missing or not executable "
                f"(build it with: make -C {source} OUT={helper})"
            )
    if backend == "linux":
        rootfs = server.container_rootfs_path
        if not os.path.isdir(os.path.join(rootfs, "bin")):
            found.append(
                f"server.container_rootfs_path: {rootfs} is not a root file system "
                f"(no bin/ in it; make rootfs builds the default one)"
            )
    return found
