"""Limits and statistics end to end: real containers through a real server in a private netns."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from limits_support import wait_until
from server_support import (
    PIDS_LIMIT,
    TIMEOUT,
    LimitsServer,
    container_id,
    limits_server,
    output,
    run,
    wait_for_state,
)

from warden.client import Client, ServerError
from warden.protocol import PingRequest

MIB = 1024 * 1024
UNLIMITED = 9223372036854771712


def disk_full(client: Client, handle: str) -> bytes:
    """What a write past the disk limit fails with: a full image (the ballast), or
    an exceeded quota where the server limits images by project quota."""
    image = Path(client.info(handle).container_path) / "tmp" / "disk.img"
    if Path(f"{image}.prjquota").exists():
        return b"Disk quota exceeded"
    return b"No space left on device"


#: Keeps a growing buffer: with no newline in its input, tail holds it all.
MEMORY_HOG = "head -c 1000000000 /dev/zero | tail > /dev/null"


def test_memory_limit_reads_back(client: Client, make_container: Any) -> None:
    handle = make_container()
    assert client.limit_memory(handle).limit_in_bytes == UNLIMITED
    assert client.limit_memory(handle, limit_in_bytes=64 * MIB).limit_in_bytes == 64 * MIB
    assert client.limit_memory(handle).limit_in_bytes == 64 * MIB


def oom_events(server: LimitsServer) -> float:
    """``warden_oom_events_total`` from the server's /metrics (scraped inside its netns)."""
    port = re.findall(r"health check on 127\.0\.0\.1:(\d+)", server.log(tail=10**7))[-1]
    scrape = (
        f"exec 3<>/dev/tcp/127.0.0.1/{port}; "
        "printf 'GET /metrics HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3"
    )
    answer = subprocess.run(
        server.in_netns("bash", "-c", scrape), capture_output=True, text=True, check=True,
        timeout=TIMEOUT,
    ).stdout  # fmt: skip
    return float(re.findall(r"^warden_oom_events_total (\S+)$", answer, re.MULTILINE)[0])


def test_memory_hog_is_oom_killed_and_the_container_stops(
    server: LimitsServer, client: Client, make_container: Any
) -> None:
    handle = make_container()
    before = oom_events(server)
    client.limit_memory(handle, limit_in_bytes=32 * MIB)
    result = run(client, handle, MEMORY_HOG)
    assert result.exit_status != 0
    info = wait_for_state(client, handle, "stopped")
    assert "out of memory" in info.events
    assert oom_events(server) >= before + 1
    assert info.memory_stat.hierarchical_memory_limit == 32 * MIB


def test_cpu_shares_read_back(client: Client, make_container: Any) -> None:
    handle = make_container()
    assert client.limit_cpu(handle).limit_in_shares == 1024
    assert client.limit_cpu(handle, limit_in_shares=512).limit_in_shares == 512
    assert client.limit_cpu(handle).limit_in_shares == 512


def test_stats_move_when_the_container_works(client: Client, make_container: Any) -> None:
    handle = make_container()
    before = client.info(handle)
    assert before.HasField("memory_stat") and before.HasField("cpu_stat")
    assert before.HasField("disk_stat")
    output(client, handle, "i=0; while (( i < 200000 )); do i=$((i + 1)); done")
    output(client, handle, "head -c 10000000 /dev/urandom > $HOME/data; sync")
    after = client.info(handle)
    assert after.cpu_stat.usage - before.cpu_stat.usage > 100_000_000  # 0.1 s in ns
    assert (
        after.cpu_stat.user + after.cpu_stat.system > before.cpu_stat.user + before.cpu_stat.system
    )
    assert after.memory_stat.cache > before.memory_stat.cache  # the file in the page cache
    assert after.memory_stat.pgfault > before.memory_stat.pgfault
    assert after.disk_stat.bytes_used - before.disk_stat.bytes_used >= 10_000_000
    assert after.disk_stat.inodes_used == before.disk_stat.inodes_used + 1
    output(client, handle, "rm $HOME/data; sync")
    assert client.info(handle).disk_stat.bytes_used == before.disk_stat.bytes_used


def test_disk_limit_fails_writes_inside_and_spares_others(
    server: LimitsServer, client: Client, make_container: Any, tmp_path: Path
) -> None:
    limited, other = make_container(), make_container()
    response = client.limit_disk(limited, byte_limit=20 * MIB)
    assert (response.byte_limit, response.byte, response.byte_hard) == (20 * MIB,) * 3
    assert (response.block_limit, response.block, response.block_hard) == (20 * 1024,) * 3
    assert response.inode_limit == 0
    write = "dd if=/dev/zero of=$HOME/big bs=1M count=30 2>&1"
    failed = run(client, limited, write)
    assert failed.exit_status != 0
    assert disk_full(client, limited) in failed.stdout
    assert client.info(limited).disk_stat.bytes_used <= 20 * MIB
    assert run(client, other, write).exit_status == 0  # another container: no limit
    host = tmp_path / "host-file"
    host.write_bytes(bytes(30 * MIB))
    assert host.stat().st_size == 30 * MIB
    # Raising it works on the live container; lowering below use is refused.
    client.limit_disk(limited, byte_limit=60 * MIB)
    assert run(client, limited, "dd if=/dev/zero of=$HOME/more bs=1M count=30").exit_status == 0
    used = client.info(limited).disk_stat.bytes_used
    with pytest.raises(ServerError) as refused:
        client.limit_disk(limited, byte_limit=10 * MIB)
    assert refused.value.message == (
        f"Failed setting disk limit: the container uses {used} bytes, "
        f"more than the requested limit of {10 * MIB} bytes"
    )
    assert client.limit_disk(limited).byte_limit == 60 * MIB


def test_disk_limit_when_the_depot_is_a_file_system_of_its_own() -> None:
    # The kernel names a loop device's backing file through the mount it was
    # opened by: the container's copy of the depot's file system, detached
    # from the host's tree by the pivot, so the name reads from that file
    # system's root. The image is recognised by its inode and device instead.
    with limits_server(depot_of_its_own=True) as server, server.client() as client:
        handle = client.create(timeout=TIMEOUT).handle
        try:
            assert client.limit_disk(handle, byte_limit=20 * MIB).byte_limit == 20 * MIB
            failed = run(client, handle, "dd if=/dev/zero of=$HOME/big bs=1M count=30 2>&1")
            assert disk_full(client, handle) in failed.stdout
            assert client.limit_disk(handle, byte_limit=60 * MIB).byte_limit == 60 * MIB
            written = run(client, handle, "dd if=/dev/zero of=$HOME/more bs=1M count=30")
            assert written.exit_status == 0
        finally:
            client.destroy(handle, timeout=TIMEOUT)


def test_inode_limit(client: Client, make_container: Any) -> None:
    handle = make_container()
    used = client.info(handle).disk_stat.inodes_used
    client.limit_disk(handle, inode_limit=used + 20)
    script = "cd; for i in $(seq 50); do touch f$i 2>/dev/null || { echo $((i - 1)); exit; }; done"
    made = output(client, handle, script)
    assert int(made) == 20
    assert client.info(handle).disk_stat.inodes_used == used + 20


def test_fork_bomb_is_contained_and_the_server_keeps_working(
    server: LimitsServer, client: Client, make_container: Any
) -> None:
    bombed, bystander = make_container(), make_container()
    cgroup = server.cgroup_dir("pids", container_id(client, bombed))
    assert (cgroup / "pids.max").read_text().strip() == str(PIDS_LIMIT)
    client.spawn(bombed, "bomb() { bomb | bomb & }; bomb; sleep 1000")
    wait_until(lambda: int((cgroup / "pids.current").read_text()) >= PIDS_LIMIT - 2, "bomb grows")
    assert int((cgroup / "pids.current").read_text()) <= PIDS_LIMIT
    client.call(PingRequest(), timeout=10)
    assert output(client, bystander, "echo alive") == "alive\n"
    client.stop(bombed, kill=True, timeout=TIMEOUT)
    wait_until(lambda: (cgroup / "pids.current").read_text().strip() == "1", "only the init left")


def test_limits_hold_after_a_restart(
    server: LimitsServer, client: Client, make_container: Any
) -> None:
    handle = make_container()
    client.limit_memory(handle, limit_in_bytes=48 * MIB)
    client.limit_cpu(handle, limit_in_shares=256)
    client.limit_disk(handle, byte_limit=20 * MIB, inode_soft=100)
    client.disconnect()
    server.kill()
    server.start()
    client.connect()
    assert client.limit_memory(handle).limit_in_bytes == 48 * MIB
    assert client.limit_cpu(handle).limit_in_shares == 256
    disk = client.limit_disk(handle)
    assert (disk.byte_limit, disk.inode_soft) == (20 * MIB, 100)
    failed = run(client, handle, "dd if=/dev/zero of=$HOME/big bs=1M count=30 2>&1")
    assert disk_full(client, handle) in failed.stdout
    # OOM is watched again: the restored container still stops on OOM.
    assert run(client, handle, MEMORY_HOG).exit_status != 0
    info = wait_for_state(client, handle, "stopped")
    assert "out of memory" in info.events


def test_destroy_leaves_no_loop_device_or_image(client: Client, make_container: Any) -> None:
    handle = make_container()
    client.limit_disk(handle, byte_limit=20 * MIB)
    path = Path(client.info(handle).container_path)
    image = path / "tmp" / "disk.img"
    assert image.exists()
    backing = [
        p for p in Path("/sys/block").glob("loop*/loop/backing_file")
        if p.read_text().strip().removesuffix(" (deleted)") == str(image)
    ]  # fmt: skip
    assert len(backing) == 1
    device = backing[0].parent.parent.name
    client.destroy(handle, timeout=TIMEOUT)
    assert not path.exists()
    backing_file = Path("/sys/block") / device / "loop" / "backing_file"

    def freed() -> bool:
        # By the container's id: the directory is moved into the depot's
        # .trash while its destroy finishes.
        try:
            return f"/{path.name}/tmp/disk.img" not in backing_file.read_text()
        except OSError:
            return True

    wait_until(freed, "loop device freed")


def test_a_failed_disk_layer_fails_the_create_and_leaves_nothing() -> None:
    """create.sh makes the disk layer itself (disk.sh's create, sourced): its
    failure (here the template directory cannot be made) is the create's
    error, named as the disk limit's, and the container is gone."""
    with limits_server() as server, server.client() as client:
        (server.depot / ".disk-templates").write_text("not a directory\n")
        with pytest.raises(ServerError) as refused:
            client.create(timeout=TIMEOUT)
        assert refused.value.message.startswith(
            "Failed preparing the disk limit: disk.sh create failed: mkdir: cannot create"
        ), refused.value.message
        assert client.list(timeout=TIMEOUT).handles == []
        assert sorted(p.name for p in server.depot.iterdir() if not p.name.startswith(".")) == []
