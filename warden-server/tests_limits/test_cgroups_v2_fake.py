"""cgroup v2, against a FAKE cgroup tree in a temporary directory.

This host runs cgroup v1 (its cgroup2 mount has no controllers), so the v2 code
path cannot meet a real kernel here. The fake tree holds the control files a
v2 kernel has, with the values a kernel writes; the tests check what the code
writes to them and how it reads them back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from limits_support import wait_until

from warden.server._watch import DirectoryWatcher
from warden.server.linux.cgroups import (
    UNLIMITED,
    CgroupV2,
    cgroup_version,
    container_cgroup,
    shares_to_weight,
    weight_to_shares,
)

MIB = 1024 * 1024

KERNEL_DEFAULTS = {
    "cgroup.procs": "",
    "memory.max": "max\n",
    "memory.swap.max": "max\n",
    "memory.swap.current": "4096\n",
    "memory.events": "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
    "memory.stat": (
        "anon 1048576\nfile 2097152\nkernel 8192\nfile_mapped 65536\nshmem 0\n"
        "inactive_anon 4096\nactive_anon 1044480\ninactive_file 2097152\nactive_file 0\n"
        "unevictable 0\npgfault 1234\npgmajfault 5\nthp_fault_alloc 0\n"
    ),
    "cpu.weight": "100\n",
    "cpu.stat": "usage_usec 2500000\nuser_usec 1500000\nsystem_usec 1000000\nnr_periods 0\n",
    "pids.max": "max\n",
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    directory = tmp_path / "warden-test" / "instance-abc"
    directory.mkdir(parents=True)
    for name, text in KERNEL_DEFAULTS.items():
        (directory / name).write_text(text)
    return tmp_path


@pytest.fixture
def cgroup(tree: Path) -> CgroupV2:
    made = container_cgroup("abc", "warden-test", root=tree)
    assert isinstance(made, CgroupV2)
    return made


def test_a_unified_root_is_detected_as_v2(tree: Path) -> None:
    assert cgroup_version(tree) == 2


def test_layout_is_parent_then_instance(cgroup: CgroupV2, tree: Path) -> None:
    assert cgroup.path == tree / "warden-test" / "instance-abc"
    assert cgroup.exists()


def test_memory_limit_sets_max_and_no_swap(cgroup: CgroupV2) -> None:
    assert cgroup.memory_limit() == UNLIMITED
    cgroup.set_memory_limit(64 * MIB)
    assert (cgroup.path / "memory.max").read_text() == str(64 * MIB)
    assert (cgroup.path / "memory.swap.max").read_text() == "0"
    assert cgroup.memory_limit() == 64 * MIB


def test_memory_limit_without_swap_control(cgroup: CgroupV2) -> None:
    (cgroup.path / "memory.swap.max").unlink()
    cgroup.set_memory_limit(32 * MIB)
    assert cgroup.memory_limit() == 32 * MIB
    assert not (cgroup.path / "memory.swap.max").exists()


def test_shares_weight_mapping_is_the_oci_one() -> None:
    # 1 + (shares - 2) * 9999 / 262142, as crun and runc convert.
    assert shares_to_weight(1024) == 39
    assert shares_to_weight(2) == 1
    assert shares_to_weight(262144) == 10000
    assert shares_to_weight(10**9) == 10000
    assert shares_to_weight(0) == 1
    assert weight_to_shares(1) == 2
    assert weight_to_shares(10000) == 262144
    assert weight_to_shares(100) == 2598


def test_every_weight_survives_a_round_trip() -> None:
    for weight in range(1, 10001):
        assert shares_to_weight(weight_to_shares(weight)) == weight
    for shares in range(2, 262145, 97):
        assert weight_to_shares(shares_to_weight(shares)) <= shares


def test_cpu_shares_read_back_exactly(cgroup: CgroupV2) -> None:
    assert cgroup.cpu_shares() == 2598  # the kernel's default weight, 100
    cgroup.set_cpu_shares(1000)
    assert (cgroup.path / "cpu.weight").read_text() == "39"
    assert cgroup.cpu_shares() == 1000
    cgroup.set_cpu_shares(1)
    assert cgroup.cpu_shares() == 2  # v1's kernel minimum, as on v1


def test_weight_changed_by_someone_else_is_converted(cgroup: CgroupV2) -> None:
    cgroup.set_cpu_shares(1000)
    (cgroup.path / "cpu.weight").write_text("50\n")
    assert cgroup.cpu_shares() == 1287


def test_pids_limit(cgroup: CgroupV2) -> None:
    assert cgroup.pids_limit() is None
    cgroup.set_pids_limit(256)
    assert (cgroup.path / "pids.max").read_text() == "256"
    cgroup.set_pids_limit(None)
    assert (cgroup.path / "pids.max").read_text() == "max"


def test_memory_stat_uses_v1_names(cgroup: CgroupV2) -> None:
    stat = cgroup.memory_stat()
    assert stat["rss"] == 1048576
    assert stat["cache"] == 2097152
    assert stat["mapped_file"] == 65536
    assert stat["swap"] == 4096
    assert stat["pgfault"] == 1234
    assert stat["total_rss"] == 1048576
    assert stat["total_swap"] == 4096
    assert stat["hierarchical_memory_limit"] == UNLIMITED
    assert stat["hierarchical_memsw_limit"] == UNLIMITED
    assert "anon" not in stat and "kernel" not in stat


def test_memory_stat_limits_follow_the_limit(cgroup: CgroupV2) -> None:
    cgroup.set_memory_limit(64 * MIB)
    stat = cgroup.memory_stat()
    assert stat["hierarchical_memory_limit"] == 64 * MIB
    assert stat["hierarchical_memsw_limit"] == 64 * MIB


def test_cpu_usage_in_nanoseconds_and_ticks(cgroup: CgroupV2) -> None:
    usage = cgroup.cpu_usage()
    assert usage.usage == 2_500_000_000
    assert usage.user == 150  # USER_HZ = 100
    assert usage.system == 100


def test_oom_kill_count(cgroup: CgroupV2) -> None:
    assert cgroup.oom_kill_count() == 0
    (cgroup.path / "memory.events").write_text("oom 1\noom_kill 1\n")
    assert cgroup.oom_kill_count() == 1


class RecordingFileWatcher:
    """Stands in for the server's inotify watcher: records the watch, lets the test fire it."""

    def __init__(self) -> None:
        self.watches: dict[int, tuple[str, int, Callable[[str | None, int], None]]] = {}

    def watch(self, path: str, mask: int, callback: Callable[[str | None, int], None]) -> int:
        wd = len(self.watches) + 1
        self.watches[wd] = (path, mask, callback)
        return wd

    def unwatch(self, wd: int) -> None:
        self.watches.pop(wd, None)

    def fire(self, mask: int = 0x2) -> None:
        for _path, _mask, callback in list(self.watches.values()):
            callback(None, mask)


def test_oom_watch_calls_back_only_when_a_counter_grows(cgroup: CgroupV2) -> None:
    files = RecordingFileWatcher()
    calls: list[str] = []
    watch = cgroup.watch_oom(None, files, lambda: calls.append("oom"))
    [(path, mask, _)] = files.watches.values()
    assert path == str(cgroup.path / "memory.events")
    assert mask == 0x2  # IN_MODIFY
    (cgroup.path / "memory.events").write_text("high 3\nmax 2\noom 0\noom_kill 0\n")
    files.fire()
    assert calls == []
    (cgroup.path / "memory.events").write_text("high 3\nmax 3\noom 1\noom_kill 1\n")
    files.fire()
    assert calls == ["oom"]
    files.fire()  # nothing new
    assert calls == ["oom"]
    watch.stop()
    assert not watch.active
    assert files.watches == {}


def test_oom_watch_ends_when_the_cgroup_goes(cgroup: CgroupV2) -> None:
    files = RecordingFileWatcher()
    calls: list[str] = []
    watch = cgroup.watch_oom(None, files, lambda: calls.append("oom"))
    files.fire(0x8000)  # IN_IGNORED: the file (its cgroup) was removed
    assert not watch.active
    assert calls == []


def test_oom_watch_through_the_servers_inotify(cgroup: CgroupV2, reactor: Any) -> None:
    """The real inotify path: the server's DirectoryWatcher sees the (fake) file change."""
    files = DirectoryWatcher(reactor)
    calls: list[str] = []
    watch = cgroup.watch_oom(reactor, files, lambda: calls.append("oom"))
    events = cgroup.path / "memory.events"
    events.write_text("high 1\nmax 1\noom 0\noom_kill 0\n")
    events.write_text("high 1\nmax 2\noom 1\noom_kill 1\n")
    wait_until(lambda: reactor.iterate(0.05) or bool(calls), "OOM callback")
    assert calls == ["oom"]
    watch.stop()
    events.write_text("high 1\nmax 3\noom 2\noom_kill 2\n")
    for _ in range(5):
        reactor.iterate(0.02)
    assert calls == ["oom"]
    files.close()
