"""Disk limits by ext4 project quota: ``df /`` in a container shows its limit as the size.

Runs inside the QEMU guest (``suites.txt``), whose stock Debian kernel has
quota support; on a kernel without it the server keeps the ballast (the
limits suite checks that path), the probe fails and so do these tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from warden.client import Client
from warden.server import testing_fixtures
from warden.server.testing import (
    REQUEST_TIMEOUT,
    ContainerFactory,
    LinuxTestServer,
    linux_server,
    output,
    run,
)

MIB = 1024 * 1024
#: Bytes of a new image: the limits below are well under it, so ``df`` shows
#: the image's size until a limit is set.
IMAGE_SIZE = 1024 * MIB
#: The guest is slow, the first start of a server there slower (its probe
#: image is the first ext4 with quotas the guest's kernel mounts).
START_TIMEOUT = 300.0
#: What a write past the limit fails with: the quota's error, not a full disk.
QUOTA_EXCEEDED = b"Disk quota exceeded"


@pytest.fixture(scope="module")
def server() -> Iterator[LinuxTestServer]:
    """A Linux server with loop disk limits (in a network namespace of its own)."""
    overrides = {
        "server": {
            "disk_limit_backend": "loop",
            "disk_image_size": IMAGE_SIZE,
            "disk_image_inodes": 20_000,
        },
        "user": {"pool_start_uid": 33000, "pool_size": 16},
    }
    with linux_server("dfquota", overrides=overrides, start=False) as made:
        yield made.start(timeout=START_TIMEOUT)


client = testing_fixtures.client
make_container = testing_fixtures.make_container


def df(client: Client, handle: str, *options: str) -> tuple[int, int, int]:
    """``df -P <options> /`` in the container: (size, used, available)."""
    lines = output(client, handle, f"df -P {' '.join(options)} /").splitlines()
    fields = lines[-1].split()
    return int(fields[1]), int(fields[2]), int(fields[3])


def test_the_image_is_limited_by_project_quota(
    client: Client, make_container: ContainerFactory
) -> None:
    handle = make_container()
    image = Path(client.info(handle).container_path) / "tmp" / "disk.img"
    assert image.exists()
    assert Path(f"{image}.prjquota").exists(), "the server did not detect project quotas"


def test_df_shows_the_byte_limit_as_size_and_writes_past_it_fail(
    client: Client, make_container: ContainerFactory
) -> None:
    handle = make_container()
    size, _, _ = df(client, handle, "-B1")
    assert size > 512 * MIB  # no limit yet: the image's file system
    client.limit_disk(handle, byte_limit=32 * MIB)
    size, used, available = df(client, handle, "-B1")
    assert size == 32 * MIB
    assert used + available == size
    assert client.info(handle).disk_stat.bytes_used == used
    failed = run(client, handle, "dd if=/dev/zero of=$HOME/big bs=1M count=40 2>&1")
    assert failed.exit_status != 0
    assert QUOTA_EXCEEDED in failed.stdout
    size, used, available = df(client, handle, "-B1")
    assert size == 32 * MIB
    assert available < MIB
    assert client.info(handle).disk_stat.bytes_used == used
    # Files of the read-only lower layer are copied up into the project.
    output(client, handle, "rm -f /home/vcap/big; echo changed > /etc/motd", privileged=True)
    assert output(client, handle, "cat /etc/motd") == "changed\n"
    output(client, handle, "dd if=/dev/zero of=$HOME/big bs=1M count=40 2>&1 || true")
    # root in the container is held too (its jobs have no CAP_SYS_RESOURCE).
    failed = run(client, handle, "dd if=/dev/zero of=/root-big bs=1M count=8 2>&1", privileged=True)
    assert QUOTA_EXCEEDED in failed.stdout
    # Raised on the live container: df follows, the space is there.
    client.limit_disk(handle, byte_limit=64 * MIB)
    assert df(client, handle, "-B1")[0] == 64 * MIB
    output(client, handle, "rm -f $HOME/big; dd if=/dev/zero of=$HOME/more bs=1M count=40")
    assert 40 * MIB <= client.info(handle).disk_stat.bytes_used <= 41 * MIB
    # A limit beyond the image grows the image: df still shows the limit.
    client.limit_disk(handle, byte_limit=2048 * MIB)
    size, used, available = df(client, handle, "-B1")
    assert (size, used + available) == (2048 * MIB, 2048 * MIB)


def test_df_shows_the_inode_limit(client: Client, make_container: ContainerFactory) -> None:
    handle = make_container()
    used = client.info(handle).disk_stat.inodes_used
    client.limit_disk(handle, inode_limit=used + 20)
    inodes, inodes_used, free = df(client, handle, "-i")
    assert (inodes, inodes_used, free) == (used + 20, used, 20)
    script = "cd; for i in $(seq 50); do touch f$i 2>/dev/null || { echo $((i - 1)); exit; }; done"
    assert int(output(client, handle, script)) == 20
    assert client.info(handle).disk_stat.inodes_used == used + 20


def test_limits_hold_after_a_restart_and_in_a_stopped_container(
    server: LinuxTestServer, client: Client, make_container: ContainerFactory
) -> None:
    handle = make_container()
    client.limit_disk(handle, byte_limit=32 * MIB)
    output(client, handle, "dd if=/dev/zero of=$HOME/some bs=1M count=8")
    client.disconnect()
    server.kill()
    server.start(timeout=START_TIMEOUT)
    client.connect()
    assert client.limit_disk(handle).byte_limit == 32 * MIB
    # The restored container is still known to be limited by its quota.
    client.limit_disk(handle, byte_limit=48 * MIB)
    size, used, _ = df(client, handle, "-B1")
    assert size == 48 * MIB
    assert client.info(handle).disk_stat.bytes_used == used
    client.stop(handle, timeout=REQUEST_TIMEOUT)
    # Stopped: read from the image's superblock (the whole file system, less
    # the empty layout), within a few blocks of the project's own count.
    stopped = client.info(handle).disk_stat.bytes_used
    assert used <= stopped <= used + 64 * 1024


@pytest.mark.parametrize("privileged", [False, True])
def test_a_job_cannot_take_its_files_out_of_the_project(
    client: Client, make_container: ContainerFactory, privileged: bool
) -> None:
    # The owner of a file may change its project, or a directory's inherit
    # flag, in the initial user namespace: warden-exec's filter refuses both.
    handle = make_container()
    client.limit_disk(handle, byte_limit=16 * MIB)
    home = "/root" if privileged else "$HOME"
    script = f"cd {home}; touch f; chattr -p 0 f 2>&1; chattr -P . 2>&1; exit 0"
    shown = output(client, handle, script, privileged=privileged)
    assert shown.count("Operation not permitted") == 2, shown
    projects = output(client, handle, f"cd {home}; lsattr -p -d f .", privileged=privileged)
    (file_project, _, _), (dir_project, dir_flags, _) = (
        line.split() for line in projects.splitlines()
    )
    assert (file_project, dir_project) == ("1", "1")
    assert "P" in dir_flags
