"""cgroup v1 on this host's real hierarchies: limits read back, statistics move."""

from __future__ import annotations

import subprocess

import pytest
from limits_support import CGROUP_ROOT, CgroupSandbox, wait_until

from warden.server.linux.cgroups import UNLIMITED, CgroupV1, cgroup_version, container_cgroup

MIB = 1024 * 1024


@pytest.fixture
def cgroup(cgroups: CgroupSandbox) -> CgroupV1:
    cgroups.create("c1")
    made = container_cgroup("c1", cgroups.parent, root=CGROUP_ROOT)
    assert isinstance(made, CgroupV1)
    return made


def test_this_host_is_detected_as_v1() -> None:
    assert cgroup_version(CGROUP_ROOT) == 1


def test_new_cgroup_has_no_memory_limit(cgroup: CgroupV1) -> None:
    assert cgroup.exists()
    assert cgroup.memory_limit() == UNLIMITED


def test_memory_limit_reads_back_rounded_to_pages(cgroup: CgroupV1) -> None:
    cgroup.set_memory_limit(64 * MIB + 100)
    assert cgroup.memory_limit() == 64 * MIB  # the kernel rounds down to whole pages


def test_memory_and_swap_limits_move_down_and_up(cgroup: CgroupV1) -> None:
    memsw = cgroup.path("memory") / "memory.memsw.limit_in_bytes"
    for limit in (64 * MIB, 32 * MIB, 128 * MIB, 16 * MIB):
        cgroup.set_memory_limit(limit)
        assert cgroup.memory_limit() == limit
        if memsw.exists():  # the host accounts swap: memory plus swap is bounded too
            assert int(memsw.read_text()) == limit


def test_cpu_shares_read_back_and_kernel_minimum(cgroup: CgroupV1) -> None:
    assert cgroup.cpu_shares() == 1024
    cgroup.set_cpu_shares(512)
    assert cgroup.cpu_shares() == 512
    cgroup.set_cpu_shares(1)
    assert cgroup.cpu_shares() == 2


def test_pids_limit(cgroup: CgroupV1) -> None:
    assert cgroup.pids_limit() is None
    cgroup.set_pids_limit(100)
    assert cgroup.pids_limit() == 100
    cgroup.set_pids_limit(None)
    assert cgroup.pids_limit() is None


def test_bad_value_is_an_os_error(cgroup: CgroupV1) -> None:
    with pytest.raises(OSError):
        cgroup.set_cpu_shares(-5)


def test_missing_cgroup_is_an_os_error(cgroups: CgroupSandbox) -> None:
    gone = container_cgroup("nothere", cgroups.parent, root=CGROUP_ROOT)
    assert not gone.exists()
    with pytest.raises(OSError):
        gone.memory_stat()


def test_memory_stat_moves_when_a_process_allocates(
    cgroups: CgroupSandbox, cgroup: CgroupV1
) -> None:
    before = cgroup.memory_stat()
    assert before["rss"] == 0
    hog = cgroups.spawn(
        "c1",
        "exec python3 -c \"import sys; x = bytearray(40 << 20); print('ok', flush=True); "
        'sys.stdin.read()"',
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert hog.stdout is not None
    assert hog.stdout.readline() == b"ok\n"
    stat = cgroup.memory_stat()
    assert stat["rss"] + stat["cache"] >= 40 * MIB
    assert stat["hierarchical_memory_limit"] == UNLIMITED
    assert hog.stdin is not None
    hog.stdin.close()
    hog.wait()


def test_cpu_usage_moves_when_a_process_works(cgroups: CgroupSandbox, cgroup: CgroupV1) -> None:
    before = cgroup.cpu_usage()
    assert before.usage == 0
    worker = cgroups.spawn("c1", "i=0; while (( i < 300000 )); do i=$((i + 1)); done")
    assert worker.wait() == 0
    after = cgroup.cpu_usage()
    assert after.usage > 100_000_000  # at least 0.1 s of cpu, in nanoseconds
    assert after.user + after.system > 0  # USER_HZ ticks


def test_contains_process(cgroups: CgroupSandbox, cgroup: CgroupV1) -> None:
    sleeper = cgroups.spawn("c1", "exec sleep 600")
    wait_until(lambda: sleeper.pid in cgroups.pids("c1"), "sleeper in its cgroup")
    assert cgroup.contains_process(sleeper.pid)
    outside = subprocess.Popen(["sleep", "600"])
    try:
        assert not cgroup.contains_process(outside.pid)
    finally:
        outside.kill()
        outside.wait()
    assert not cgroup.contains_process(2**22 + 1)  # no such process
