"""A container's cgroups through the server, on whatever hierarchy the host has.

The same tests run on this machine's cgroup v1 (hybrid) and, in the QEMU
guest, on a pure cgroup v2 hierarchy; the few file-level checks look at the
files of the version the host runs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from warden.client import Client
from warden.server.linux.cgroups import UNLIMITED, shares_to_weight
from warden.server.testing import wait_for_destroys

from .conftest import TIMEOUT, ContainerFactory, LinuxServer, container_id, init_pid, output, run

MIB = 1024 * 1024
#: Keeps a growing buffer: with no newline in its input, tail holds it all.
MEMORY_HOG = "head -c 1000000000 /dev/zero | tail > /dev/null"


def wait_until(condition: Callable[[], bool], what: str, limit: float = 120.0) -> None:
    """Wait for something the server or kernel does on its own; fail if it never happens."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def wait_for_state(client: Client, handle: str, state: str) -> Any:
    seen: list[Any] = []

    def reached() -> bool:
        seen[:] = [client.info(handle, timeout=TIMEOUT)]
        return bool(seen[0].state == state)

    wait_until(reached, f"container {handle} {state}")
    return seen[0]


def main_dir(server: LinuxServer, client: Client, handle: str) -> Path:
    """The container's main cgroup (v1: freezer; v2: its only one)."""
    return server.cgroup_layout.container(container_id(client, handle)).main


def procs(directory: Path) -> set[int]:
    return {int(line) for line in (directory / "cgroup.procs").read_text().split()}


def test_create_run_destroy(server: LinuxServer, client: Client) -> None:
    handle = client.create(timeout=TIMEOUT).handle
    cid = container_id(client, handle)
    dirs = server.cgroup_layout.container(cid)
    assert all(d.is_dir() for d in dirs.dirs)
    # The first process joined every one of them (itself, before its start).
    init = init_pid(server, client, handle)
    assert [d for d in dirs.dirs if init not in procs(d)] == []
    # A job sees itself in the container's cgroup (there is no cgroup namespace).
    own = output(client, handle, "cat /proc/self/cgroup")
    member_line = f":{dirs.member}"
    assert member_line in own, (member_line, own)
    assert output(client, handle, "echo $((6 * 7))") == "42\n"
    client.destroy(handle, timeout=TIMEOUT)
    wait_for_destroys(server)  # the cgroups go after the answer
    assert not any(d.exists() for d in dirs.dirs)


def test_memory_limit_oom_event_and_stop(
    server: LinuxServer, client: Client, make_container: ContainerFactory
) -> None:
    handle = make_container()
    assert client.limit_memory(handle).limit_in_bytes == UNLIMITED
    assert client.limit_memory(handle, limit_in_bytes=32 * MIB).limit_in_bytes == 32 * MIB
    directory = main_dir(server, client, handle)
    if server.cgroup_layout.version == 2:
        assert (directory / "memory.max").read_text().strip() == str(32 * MIB)
        swap = directory / "memory.swap.max"
        assert not swap.exists() or swap.read_text().strip() == "0"
    result = run(client, handle, MEMORY_HOG)
    assert result.exit_status != 0
    info = wait_for_state(client, handle, "stopped")
    assert "out of memory" in info.events
    assert info.memory_stat.hierarchical_memory_limit == 32 * MIB
    # Stopped, not destroyed: only the init is left in the cgroup (a process
    # the OOM killer hit may still be on its way out).
    init = init_pid(server, client, handle)
    wait_until(lambda: procs(directory) == {init}, "only the init left", limit=10)


def test_cpu_shares_round_trip(
    server: LinuxServer, client: Client, make_container: ContainerFactory
) -> None:
    handle = make_container()
    assert client.limit_cpu(handle).limit_in_shares == 1024
    assert client.limit_cpu(handle, limit_in_shares=512).limit_in_shares == 512
    assert client.limit_cpu(handle).limit_in_shares == 512
    cid = container_id(client, handle)
    if server.cgroup_layout.version == 2:
        weight = server.cgroup_layout.container(cid).main / "cpu.weight"
        assert int(weight.read_text()) == shares_to_weight(512)
    else:
        shares = server.cgroup_dir("cpu", cid) / "cpu.shares"
        assert int(shares.read_text()) == 512
    info = client.info(handle)
    output(client, handle, "i=0; while (( i < 100000 )); do i=$((i + 1)); done")
    assert client.info(handle).cpu_stat.usage > info.cpu_stat.usage


def test_pids_limit(server: LinuxServer, client: Client, make_container: ContainerFactory) -> None:
    handle = make_container()
    pids = server.cgroup_dir("pids", container_id(client, handle))
    assert (pids / "pids.max").read_text().strip() == "1024"  # the default limit
    before = int((pids / "pids.current").read_text())
    job = client.spawn(handle, "sleep 1000 & sleep 1000 & sleep 1000 & wait").job_id
    wait_until(lambda: int((pids / "pids.current").read_text()) >= before + 4, "pids counted")
    client.stop(handle, kill=True, timeout=TIMEOUT)
    assert client.link(handle, job, timeout=TIMEOUT).exit_status == 255  # a killed shell
    wait_until(lambda: int((pids / "pids.current").read_text()) == 1, "only the init left")


def test_stop_freezes_signals_and_thaws(
    server: LinuxServer, client: Client, make_container: ContainerFactory
) -> None:
    handle = make_container()
    job = client.spawn(handle, "sleep 1000").job_id
    directory = main_dir(server, client, handle)
    wait_until(lambda: len(procs(directory)) > 1, "the job in the cgroup")
    client.stop(handle, timeout=TIMEOUT)
    result = client.link(handle, job, timeout=TIMEOUT)
    assert result.exit_status == 255  # a killed shell, as the original
    assert procs(directory) == {init_pid(server, client, handle)}
    if server.cgroup_layout.version == 2:
        assert (directory / "cgroup.freeze").read_text().strip() == "0"
    else:
        assert (directory / "freezer.state").read_text().strip() == "THAWED"
    client.destroy(handle, timeout=TIMEOUT)
    wait_for_destroys(server)  # the cgroups go after the answer
    assert not directory.exists()


def test_devices_outside_the_allow_list_are_refused(
    server: LinuxServer, client: Client, make_container: ContainerFactory
) -> None:
    handle = make_container()
    root = Path(f"/proc/{init_pid(server, client, handle)}/root")
    # Made from the host (which may): the container may not open them.
    os.mknod(root / "tmp" / "mem", 0o020666, os.makedev(1, 1))
    os.mknod(root / "tmp" / "sda", 0o060666, os.makedev(8, 0))
    script = (
        "for f in /tmp/mem /tmp/sda /dev/null /dev/zero /dev/urandom /dev/full; do "
        'if msg=$( { exec 3<"$f"; } 2>&1 ); then echo "$f ok"; else echo "$f ${msg##*: }"; fi; '
        "done; head -c 4 /dev/urandom | wc -c; echo x > /dev/null && echo wrote"
    )
    seen = output(client, handle, script, privileged=True).splitlines()
    assert seen == [
        "/tmp/mem Operation not permitted",
        "/tmp/sda Operation not permitted",
        "/dev/null ok",
        "/dev/zero ok",
        "/dev/urandom ok",
        "/dev/full ok",
        "4",
        "wrote",
    ]
    made = run(client, handle, "mknod /tmp/sdb b 8 16", privileged=True)
    assert made.exit_status != 0
    assert b"Operation not permitted" in made.stderr
    # A pseudo-terminal (/dev/ptmx and /dev/pts/N) works.
    tty = run(client, handle, "script -qc 'tty' /dev/null < /dev/null", privileged=True)
    if tty.exit_status == 0:  # the rootfs has script(1)
        assert b"/dev/pts/" in tty.stdout


def test_limits_and_oom_watch_survive_a_restart(
    server: LinuxServer, client: Client, make_container: ContainerFactory
) -> None:
    handle = make_container()
    client.limit_memory(handle, limit_in_bytes=48 * MIB)
    client.limit_cpu(handle, limit_in_shares=300)
    client.disconnect()
    server.kill()
    server.start()
    client.connect()
    assert client.limit_memory(handle).limit_in_bytes == 48 * MIB
    assert client.limit_cpu(handle).limit_in_shares == 300
    assert output(client, handle, "echo still here") == "still here\n"
    assert run(client, handle, MEMORY_HOG).exit_status != 0
    info = wait_for_state(client, handle, "stopped")
    assert "out of memory" in info.events
