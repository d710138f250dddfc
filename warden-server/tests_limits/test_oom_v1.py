"""Out-of-memory notification on cgroup v1: the eventfd fires on the reactor, no polling."""

from __future__ import annotations

import os
from typing import Any

import pytest
from limits_support import CGROUP_ROOT, CgroupSandbox, wait_until

from warden.server.linux.cgroups import CgroupV1, OomWatch, container_cgroup

MIB = 1024 * 1024


@pytest.fixture
def cgroup(cgroups: CgroupSandbox) -> CgroupV1:
    cgroups.create("c1")
    made = container_cgroup("c1", cgroups.parent, root=CGROUP_ROOT)
    assert isinstance(made, CgroupV1)
    return made


def iterate_until(reactor: Any, condition: Any, what: str) -> None:
    """Run the reactor's loop until ``condition()``; fail if it never comes."""

    def step() -> bool:
        reactor.iterate(0.05)
        return bool(condition())

    wait_until(step, what)


def start_watch(reactor: Any, cgroup: CgroupV1, calls: list[str]) -> OomWatch:
    return cgroup.watch_oom(reactor, files=None, on_oom=lambda: calls.append("oom"))  # type: ignore[arg-type]


def test_memory_hog_is_killed_and_the_callback_runs(
    reactor: Any, cgroups: CgroupSandbox, cgroup: CgroupV1
) -> None:
    calls: list[str] = []
    watch = start_watch(reactor, cgroup, calls)
    cgroup.set_memory_limit(32 * MIB)
    hog = cgroups.spawn(
        "c1", "exec python3 -c 'x = bytearray(200 << 20); x[::4096] = bytes(len(x[::4096]))'"
    )
    assert hog.wait() == -9  # the kernel's OOM killer
    iterate_until(reactor, lambda: calls, "OOM callback")
    assert calls == ["oom"]
    assert cgroup.oom_kill_count() == 1
    assert watch.active
    watch.stop()


def test_no_callback_without_oom(reactor: Any, cgroups: CgroupSandbox, cgroup: CgroupV1) -> None:
    calls: list[str] = []
    watch = start_watch(reactor, cgroup, calls)
    cgroup.set_memory_limit(64 * MIB)
    small = cgroups.spawn("c1", "exec python3 -c 'x = bytearray(8 << 20)'")
    assert small.wait() == 0
    for _ in range(10):
        reactor.iterate(0.01)
    assert calls == []
    watch.stop()


def test_removing_the_cgroup_ends_the_watch_without_oom(
    reactor: Any, cgroups: CgroupSandbox, cgroup: CgroupV1
) -> None:
    calls: list[str] = []
    watch = start_watch(reactor, cgroup, calls)
    cgroup.path("memory").rmdir()
    iterate_until(reactor, lambda: not watch.active, "watch ends with its cgroup")
    assert calls == []


def test_stop_releases_the_descriptor_and_is_idempotent(reactor: Any, cgroup: CgroupV1) -> None:
    before = len(os.listdir("/proc/self/fd"))
    watch = start_watch(reactor, cgroup, [])
    assert len(os.listdir("/proc/self/fd")) == before + 1  # the eventfd; the control file is closed
    watch.stop()
    watch.stop()
    assert not watch.active
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_failing_callback_keeps_the_watch(
    reactor: Any, cgroups: CgroupSandbox, cgroup: CgroupV1
) -> None:
    calls: list[str] = []

    def explode() -> None:
        calls.append("called")
        raise RuntimeError("callback bug")

    watch = cgroup.watch_oom(reactor, files=None, on_oom=explode)  # type: ignore[arg-type]
    cgroup.set_memory_limit(32 * MIB)
    for _ in range(2):
        hog = cgroups.spawn("c1", "exec python3 -c 'x = bytearray(200 << 20)'")
        assert hog.wait() == -9
    iterate_until(reactor, lambda: len(calls) >= 1, "first callback")
    assert watch.active
    watch.stop()
