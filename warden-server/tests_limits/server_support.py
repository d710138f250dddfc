"""The limits' end-to-end server: ``warden.server.testing.linux_server`` named
``limits``, configured for the limits tests.

Like every Linux test server it runs in a private network namespace made for
the session, with a depot, socket, configuration and log under
``/tmp/warden-limits-<hex>/`` and the cgroup parent ``warden-limits-<hex>``,
all removed at the end of the session. ``WARDEN_TEST_KEEP_LOG=PATH`` keeps a
copy of the server's log (for debugging).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from limits_support import wait_until

from warden.server.testing import (
    REQUEST_TIMEOUT,
    LinuxTestServer,
    container_id,
    linux_server,
    output,
    run,
    sh,
    unique_token,
    wait_for_state,
)

__all__ = [
    "IMAGE_INODES",
    "IMAGE_SIZE",
    "PIDS_LIMIT",
    "TIMEOUT",
    "LimitsServer",
    "container_id",
    "limits_server",
    "output",
    "run",
    "wait_for_state",
]

TIMEOUT = REQUEST_TIMEOUT
LimitsServer = LinuxTestServer

#: Small enough to keep the tests quick (a lower inode limit costs one ballast
#: file per inode of difference), large enough for what they write.
IMAGE_SIZE = 2 * 1024**3
IMAGE_INODES = 20_000
PIDS_LIMIT = 64

#: What the limits tests change in the default Linux test configuration.
LIMITS_CONFIG = {
    "server": {
        "container_pids_limit": PIDS_LIMIT,
        "disk_limit_backend": "loop",
        "disk_image_size": IMAGE_SIZE,
        "disk_image_inodes": IMAGE_INODES,
        # The server's default, not the Linux test configuration's 1 MiB.
        "job_output_limit": 10 * 1024 * 1024,
    },
    "user": {"pool_start_uid": 32000, "pool_size": 32},
}


@contextlib.contextmanager
def limits_server(*, depot_of_its_own: bool = False) -> Iterator[LinuxTestServer]:
    """The session's namespace, directory and server, all removed at the end.

    ``depot_of_its_own``: the depot is a tmpfs mounted here (as production
    hosts give it a partition), unmounted at the end; the unmount fails, and
    with it the caller, while a loop device or a mount still holds a file on it.
    """
    token = unique_token()
    base = Path(f"/tmp/warden-limits-{token}")
    try:
        with linux_server("limits", overrides=LIMITS_CONFIG, token=token, start=False) as server:
            if depot_of_its_own:
                tmpfs = f"warden-limits-{token}"
                sh("mount", "-t", "tmpfs", "-o", "size=512m", tmpfs, str(server.depot))
            server.start()
            yield server
    finally:
        # After the server's cleanup stopped it and destroyed what it left.
        if depot_of_its_own and os.path.ismount(base / "depot"):
            _unmount_depot(base / "depot")
            shutil.rmtree(base, ignore_errors=True)


def _unmount_depot(depot: Path) -> None:
    """Unmount, failing if something still holds it; lazily at worst, so nothing stays."""

    def unmounted() -> bool:
        sh("umount", str(depot), check=False)
        return not os.path.ismount(depot)

    try:
        # Loop devices are freed by the kernel shortly after their last unmount.
        wait_until(unmounted, "the depot's tmpfs unmounted (nothing holds it)")
    finally:
        if os.path.ismount(depot):
            sh("umount", "--lazy", str(depot), check=False)
