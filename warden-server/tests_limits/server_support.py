"""A real warden-server with the Linux backend, for the limits' end-to-end tests.

The server runs in a network namespace made for the session
(``warden-limits-test-<hex>``), started with ``nsenter --net`` (``ip netns
exec`` would hide the cgroup hierarchies); containers' veths live there. The
depot, socket, configuration and log are under ``/tmp/warden-limits-<hex>/``;
the cgroup parent is ``warden-limits-test-<hex>``. Everything is removed at the
end of the session: containers (by the server, else by ``destroy.sh``), the
server, the cgroup parents, the directory and the namespace.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from limits_support import CGROUP_ROOT, wait_until

from warden.client import Client, ServerError
from warden.protocol import RunResponse
from warden.server.linux.cgroups import CgroupLayout
from warden.server.testing import ServerProcess, sh

REPO = Path(__file__).resolve().parents[2]
ROOT_SCRIPTS = REPO / "root-scripts"
ROOTFS = Path(os.environ.get("WARDEN_TEST_ROOTFS", "/var/lib/warden/rootfs"))
TIMEOUT = 120.0

#: Small enough to keep the tests quick (a lower inode limit costs one ballast
#: file per inode of difference), large enough for what they write.
IMAGE_SIZE = 2 * 1024**3
IMAGE_INODES = 20_000
PIDS_LIMIT = 64


class LimitsServer(ServerProcess):
    """A warden-server process with the Linux backend, in the test namespace."""

    def __init__(self, base: Path, netns: str, token: str) -> None:
        (base / "depot").mkdir()
        self.cgroup_parent = f"warden-limits-test-{token}"
        config: dict[str, Any] = {
            "server": {
                "container_klass": "linux",
                "unix_domain_path": str(base / "warden.sock"),
                "container_depot_path": str(base / "depot"),
                "container_rootfs_path": str(ROOTFS),
                "root_scripts_path": str(ROOT_SCRIPTS),
                "container_grace_time": None,
                "cgroup_parent": self.cgroup_parent,
                "container_pids_limit": PIDS_LIMIT,
                "disk_limit_backend": "loop",
                "disk_image_size": IMAGE_SIZE,
                "disk_image_inodes": IMAGE_INODES,
            },
            "health_check_server": {"port": 0},
            "logging": {"level": "debug"},
            "network": {"pool_network": "10.254.0.0/24", "release_delay": 0},
            "user": {"pool_start_uid": 32000, "pool_size": 32},
        }
        super().__init__(base, config, netns=netns)

    def cgroup_dir(self, controller: str, container_id: str | None = None) -> Path:
        """The parent's (or a container's) directory holding ``controller`` (v2: the one)."""
        layout = CgroupLayout.detect(self.cgroup_parent, CGROUP_ROOT)
        base = layout.mount(controller) / self.cgroup_parent
        return base / f"instance-{container_id}" if container_id else base

    def remove_leftovers(self) -> None:
        self.destroy_leftovers(ROOT_SCRIPTS / "linux" / "destroy.sh")
        for parent in CgroupLayout.detect(self.cgroup_parent, CGROUP_ROOT).parent_dirs():
            with contextlib.suppress(OSError):
                parent.rmdir()


@contextlib.contextmanager
def limits_server(*, depot_of_its_own: bool = False) -> Iterator[LimitsServer]:
    """The session's namespace, directory and server, all removed at the end.

    ``depot_of_its_own``: the depot is a tmpfs mounted here (as production
    hosts give it a partition), unmounted at the end; the unmount fails, and
    with it the caller, while a loop device or a mount still holds a file on it.
    """
    if not (ROOTFS / "bin" / "bash").exists():
        subprocess.run(
            [str(ROOT_SCRIPTS / "linux" / "rootfs" / "setup.sh"), str(ROOTFS)], check=True
        )
    token = secrets.token_hex(4)
    netns = f"warden-limits-test-{token}"
    base = Path(f"/tmp/warden-limits-{token}")
    sh("ip", "netns", "add", netns)
    try:
        sh("ip", "-n", netns, "link", "set", "lo", "up")
        base.mkdir()
        server = LimitsServer(base, netns, token)
        depot = base / "depot"
        if depot_of_its_own:
            sh("mount", "-t", "tmpfs", "-o", "size=512m", f"warden-limits-{token}", str(depot))
        try:
            server.start()
            yield server
        finally:
            server.stop()
            server.remove_leftovers()
            if depot_of_its_own:
                _unmount_depot(depot)
    finally:
        if os.environ.get("WARDEN_TEST_KEEP_LOG"):  # debugging: keep the server's log
            shutil.copy(base / "server.log", os.environ["WARDEN_TEST_KEEP_LOG"])
        shutil.rmtree(base, ignore_errors=True)
        sh("ip", "netns", "del", netns, check=False)


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


def run(client: Client, handle: str, script: str, *, privileged: bool = False) -> RunResponse:
    return client.run(handle, script, privileged=privileged, timeout=TIMEOUT)


def output(client: Client, handle: str, script: str, *, privileged: bool = False) -> str:
    response = run(client, handle, script, privileged=privileged)
    assert response.exit_status == 0, (response.exit_status, response.stderr)
    return response.stdout.decode()


def container_id(client: Client, handle: str) -> str:
    return os.path.basename(client.info(handle, timeout=TIMEOUT).container_path)


def destroy_quietly(client: Client, handle: str) -> None:
    with contextlib.suppress(ServerError):
        client.destroy(handle, timeout=TIMEOUT)


def wait_for_state(client: Client, handle: str, state: str) -> Any:
    """Info once the container reached ``state`` (the server acts on its own, asynchronously)."""
    seen: list[Any] = []

    def reached() -> bool:
        seen[:] = [client.info(handle, timeout=TIMEOUT)]
        return bool(seen[0].state == state)

    wait_until(reached, f"container {handle} {state}", limit=60)
    return seen[0]
