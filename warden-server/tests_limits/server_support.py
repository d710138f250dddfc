"""The limits' end-to-end server: ``warden.server.testing.linux_server`` named
``limits``, configured for the limits tests.

Like every Linux test server it runs in a private network namespace made for
the session, with a depot, socket, configuration and log under
``/tmp/warden-limits-<hex>/`` and the cgroup parent ``warden-limits-<hex>``,
all removed at the end of the session. ``WARDEN_TEST_KEEP_LOG=PATH`` keeps a
copy of the server's log (for debugging).
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from warden.server.testing import (
    REQUEST_TIMEOUT,
    LinuxTestServer,
    container_id,
    linux_server,
    output,
    run,
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


def limits_server() -> AbstractContextManager[LinuxTestServer]:
    """The session's namespace, directory and server, all removed at the end."""
    return linux_server("limits", overrides=LIMITS_CONFIG)
