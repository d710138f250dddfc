"""The quota backend, against a FAKE quotactl.

This host's kernel has no quota support (a quota mount fails), so kernel
quotas cannot be exercised here. ``FakeQuota`` keeps per-(device, uid) records
the way the kernel's quotactl does; the tests check what the backend asks of
it. One test calls the real system call to check that its failure is reported
clearly.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from limits_support import resolve

from warden.server.linux._disk import (
    DiskLimitError,
    DiskLimits,
    DiskUsage,
    KernelQuota,
    QuotaDisk,
    QuotaRecord,
    mount_source,
)


class FakeQuota:
    def __init__(self) -> None:
        self.records: dict[tuple[str, int], QuotaRecord] = {}
        self.calls: list[tuple[str, str, int]] = []

    def get(self, device: str, uid: int) -> QuotaRecord:
        self.calls.append(("get", device, uid))
        return self.records.get((device, uid), QuotaRecord(DiskLimits(), 0, 0))

    def set(self, device: str, uid: int, limits: DiskLimits) -> None:
        self.calls.append(("set", device, uid))
        old = self.get(device, uid)
        self.records[(device, uid)] = replace(old, limits=limits)


def depot_device() -> str:
    return mount_source(Path("/tmp"))[0]


def test_mount_source_finds_the_longest_mount_point(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
        "30 22 7:0 / /srv/warden\\040depot rw shared:2 - xfs /dev/loop7 rw\n"
        "31 22 0:5 / /srv/other rw - tmpfs tmpfs rw\n"
    )
    assert mount_source(Path("/srv/warden depot/containers"), info) == (
        "/dev/loop7",
        "/srv/warden depot",
    )
    assert mount_source(Path("/srv/warden"), info) == ("/dev/vda", "/")


def test_create_resets_the_uid_to_no_limit() -> None:
    quota = FakeQuota()
    quota.records[(depot_device(), 10001)] = QuotaRecord(DiskLimits(1, 2, 3, 4), 0, 0)
    disk = QuotaDisk(uid=10001, depot_path=Path("/tmp"), quota=quota)
    resolve(disk.prepare())
    assert resolve(disk.limits()) == DiskLimits()


def test_limits_and_usage_go_through_quotactl() -> None:
    quota = FakeQuota()
    disk = QuotaDisk(uid=10002, depot_path=Path("/tmp"), quota=quota)
    resolve(disk.apply(DiskLimits(block_soft=100, block_hard=200, inode_soft=5, inode_hard=10)))
    assert resolve(disk.limits()) == DiskLimits(100, 200, 5, 10)
    quota.records[(depot_device(), 10002)] = replace(
        quota.records[(depot_device(), 10002)], bytes_used=12345, inodes_used=6
    )
    assert resolve(disk.usage()) == DiskUsage(12345, 6)
    assert {call[2] for call in quota.calls} == {10002}
    assert disk.snapshot() == {}


def test_the_real_system_call_fails_clearly_on_this_host() -> None:
    disk = QuotaDisk(uid=10003, depot_path=Path("/tmp"), quota=KernelQuota())
    with pytest.raises(DiskLimitError, match=r"quotactl on \S+ for uid 10003: "):
        resolve(disk.limits())
