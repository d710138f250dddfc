"""The depot's disk full: clear errors, no crash, nothing half made, and
everything back to normal once there is space again.

The depot is a small tmpfs of its own (mounted and removed here), filled from
the host with a dot file (which recovery ignores), as anything else sharing
the depot's disk would fill it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from warden.client import ServerError
from warden.server.testing import REQUEST_TIMEOUT as TIMEOUT
from warden.server.testing import LinuxTestServer, host_snapshot, linux_server, sh, unique_token

from .conftest import wait_until

#: Room for a few containers (their sparse disk images are small here).
DEPOT_SIZE = "160m"


@pytest.fixture
def server(rootfs: Path) -> Iterator[LinuxTestServer]:
    """A server whose depot is a tmpfs of ``DEPOT_SIZE``."""
    token = unique_token()
    base = Path(f"/tmp/warden-abusedf-{token}")
    config = {"server": {"disk_image_size": 48 * 1024**2, "disk_image_inodes": 4096}}
    try:
        with linux_server(
            "abusedf", overrides=config, rootfs=rootfs, token=token, start=False
        ) as made:
            name = f"warden-abusedf-{token}"
            sh("mount", "-t", "tmpfs", "-o", f"size={DEPOT_SIZE},mode=0755", name, str(made.depot))
            made.start()
            yield made
    finally:
        # After the server's cleanup destroyed the containers on it.
        sh("umount", str(base / "depot"), check=False)
        shutil.rmtree(base, ignore_errors=True)


def _fill(depot: Path) -> None:
    """Fill the depot to the last block (again: what a failure frees is reused)."""
    ballast = depot / f".ballast-{len(list(depot.glob('.ballast-*')))}"
    subprocess.run(["dd", "if=/dev/zero", f"of={ballast}", "bs=64k"], check=False,
                   capture_output=True)  # fmt: skip
    assert os.statvfs(depot).f_bavail == 0


def test_depot_disk_full(server: LinuxTestServer) -> None:
    before = host_snapshot(server)
    before.pop("mount_count")
    with server.client() as client:
        handle = client.create(timeout=TIMEOUT).handle
        path = Path(client.info(handle).container_path)
        done = client.spawn(handle, "echo before").job_id
        wait_until((path / "jobs" / str(done) / "exit_status").exists, "the job to end")
        _fill(server.depot)
        entries = sorted(os.listdir(server.depot))

        # Each request gets an error or works; none crashes the server.
        with pytest.raises(ServerError):
            client.create(timeout=TIMEOUT)
        # (No room for the job id, or for the job's pid.)
        with pytest.raises(ServerError, match=r"No space left on device|job failed to start"):
            client.run(handle, "echo hi", timeout=TIMEOUT)
        assert sorted(os.listdir(server.depot)) == entries  # no half-made container
        assert os.listdir(path / "jobs") == [str(done)]  # no half-made job
        client.ping(timeout=TIMEOUT)
        assert client.list(timeout=TIMEOUT).handles == [handle]
        assert client.info(handle, timeout=TIMEOUT).state == "active"
        _fill(server.depot)
        # A change made while the snapshot may not be writable still stands
        # (test_snapshot_retry.py holds the snapshot back on purpose) ...
        limit = 200 * 1024 * 1024
        assert client.limit_memory(handle, limit_in_bytes=limit).limit_in_bytes == limit
        # ... and output written before the disk filled is still there.
        assert client.link(handle, done, timeout=TIMEOUT).stdout == b"before\n"

        for ballast in server.depot.glob(".ballast-*"):
            ballast.unlink()
        # Space again: the snapshot is (written again, if it was not) there.
        wait_until((path / "snapshot.json").exists, "the snapshot to be written again")
        assert client.run(handle, "echo back", timeout=TIMEOUT).stdout == b"back\n"
    # A restart now recovers the container with its limit.
    server.kill()
    server.start()
    with server.client() as client:
        assert client.list(timeout=TIMEOUT).handles == [handle]
        info = client.info(handle, timeout=TIMEOUT)
        assert (info.state, info.memory_stat.hierarchical_memory_limit) == ("active", limit)
        other = client.create(timeout=TIMEOUT).handle
        for each in (handle, other):
            client.destroy(each, timeout=TIMEOUT)
    after = host_snapshot(server)
    after.pop("mount_count")
    assert after == before
