"""Choosing project quotas for loop images: the probe, what the server tells disk.sh, usage.

The project-quota path itself runs where the kernel has quotas: the cgroup v2
guest's ``tests_cgroup_v2/test_disk_project_quota.py``. Here: the probe on this
host (whatever it answers, it leaves nothing behind), and the server's side
with a recording runner and a stand-in ``statvfs``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from limits_support import DISK_SCRIPT, Result, resolve, run_command

from warden.server.linux._disk import (
    DiskLimits,
    LoopDisk,
    LoopDiskPaths,
    detect_project_quota,
    project_quota_supported,
)

MIB = 1024 * 1024


class Recorder:
    """A runner that records each call and answers with set output."""

    def __init__(self, exit_code: int = 0, stdout: bytes = b"", stderr: bytes = b"") -> None:
        self.calls: list[tuple[list[str], dict[str, str]]] = []
        self.answer = (exit_code, stdout, stderr)

    async def __call__(
        self, argv: Sequence[str], *, env: Mapping[str, object] | None = None, check: bool = True
    ) -> Result:
        self.calls.append((list(argv), {k: str(v) for k, v in (env or {}).items()}))
        return Result(tuple(argv), *self.answer)


def test_the_probe_on_this_host_answers_and_leaves_nothing(tmp_path: Path) -> None:
    supported, reason = resolve(detect_project_quota(DISK_SCRIPT, run_command, tmp_path))
    assert supported == project_quota_supported()
    assert supported or reason  # when not, it says why
    assert list(tmp_path.iterdir()) == []  # its scratch directory is gone
    backing = [p.read_text() for p in Path("/sys/block").glob("loop*/loop/backing_file")]
    assert [name for name in backing if name.startswith(str(tmp_path))] == []


def test_the_probe_answer_and_reason_come_from_the_script(tmp_path: Path) -> None:
    unsupported = Recorder(5, stderr=b"disk: the kernel cannot mount ext4 with project quotas\n")
    answer = resolve(detect_project_quota(DISK_SCRIPT, unsupported, tmp_path))
    assert answer == (False, "the kernel cannot mount ext4 with project quotas")
    assert not project_quota_supported()
    ((argv, env),) = unsupported.calls
    assert argv[-2:] == [str(DISK_SCRIPT), "probe"]
    assert Path(env["DISK_IMAGE"]).parent.parent == tmp_path
    try:
        assert resolve(detect_project_quota(DISK_SCRIPT, Recorder(0), tmp_path)) == (True, "")
        assert project_quota_supported()
    finally:
        resolve(detect_project_quota(DISK_SCRIPT, unsupported, tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_probe_that_cannot_start_leaves_the_ballast(tmp_path: Path) -> None:
    async def unstartable(argv: Sequence[str], **_: object) -> Result:
        raise OSError(2, "No such file or directory")

    supported, reason = resolve(detect_project_quota(DISK_SCRIPT, unstartable, tmp_path))
    assert (supported, project_quota_supported()) == (False, False)
    assert "No such file or directory" in reason
    assert list(tmp_path.iterdir()) == []


def test_a_probe_that_hangs_is_ended_and_leaves_the_ballast(tmp_path: Path) -> None:
    hanging = tmp_path / "hanging-disk.sh"
    pid_file = tmp_path / "probe.pid"
    hanging.write_text(f'#!/bin/sh\necho "$$" > {pid_file}\nexec sleep 600\n')
    hanging.chmod(0o755)
    scratch_parent = tmp_path / "depot"
    scratch_parent.mkdir()
    supported, reason = resolve(
        detect_project_quota(hanging, run_command, scratch_parent, timeout=0.5)
    )
    assert (supported, project_quota_supported()) == (False, False)
    assert reason == "the probe did not finish within 0.5 s"
    assert list(scratch_parent.iterdir()) == []  # its scratch directory is gone
    assert not Path(f"/proc/{pid_file.read_text().strip()}").exists()  # ended and reaped


CREATED = b"base_bytes=16384\nbase_inodes=14\n" + (
    b"used_bytes=0\nused_inodes=0\nballast_bytes=0\nballast_inodes=0\n"
    b"overhead_blocks=100\nimage_bytes=1073741824\n"
)


def make_disk(tmp_path: Path, run: Recorder, root: Path | None, *, project_quota: bool) -> LoopDisk:
    return LoopDisk(
        paths=LoopDiskPaths.for_container(tmp_path),
        script=DISK_SCRIPT,
        run=run,
        image_size=1024 * MIB,
        image_inodes=4000,
        live_root=lambda: root,
        project_quota=project_quota,
    )


class Statvfs:
    """What ``os.statvfs`` of a container's root answers (4 KiB blocks)."""

    f_frsize = 4096

    def __init__(self, blocks: int, free: int, files: int, ffree: int) -> None:
        self.f_blocks, self.f_bfree, self.f_files, self.f_ffree = blocks, free, files, ffree


@pytest.mark.parametrize("project_quota", [False, True])
def test_each_image_keeps_the_way_it_was_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project_quota: bool
) -> None:
    monkeypatch.setattr(os, "statvfs", lambda path: Statvfs(1000, 990, 500, 493))
    run = Recorder(stdout=CREATED)
    disk = make_disk(tmp_path, run, None, project_quota=project_quota)
    resolve(disk.prepare())
    assert disk.snapshot()["project_quota"] is project_quota
    # Restored by a server that detected otherwise: the image's way still.
    restored = make_disk(tmp_path, run, tmp_path, project_quota=not project_quota)
    restored.restore(disk.snapshot())
    resolve(restored.apply(DiskLimits(block_hard=32 * 1024)))
    resolve(restored.destroy())
    steps = [(argv[1], env["DISK_PROJECT_QUOTA"]) for argv, env in run.calls]
    flag = str(int(project_quota))
    assert steps == [("create", flag), ("limit", flag), ("destroy", flag)]


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        # Limited: statfs answers with the project's own counts, taken as they are.
        (DiskLimits(block_hard=4096, inode_hard=100), (10 * 4096, 7)),
        # Unlimited: the whole file system's, less the empty layout.
        (DiskLimits(), (10 * 4096 - 16384, 7 - 3)),
        (DiskLimits(block_hard=4096), (10 * 4096, 7 - 3)),
        (DiskLimits(inode_hard=100), (10 * 4096 - 16384, 7)),
    ],
)
def test_live_usage_with_a_project_quota(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    limits: DiskLimits,
    expected: tuple[int, int],
) -> None:
    disk = make_disk(tmp_path, Recorder(), tmp_path, project_quota=True)
    state: dict[str, Any] = {"limits": vars(limits), "base_bytes": 16384, "base_inodes": 3}
    disk.restore({**state, "project_quota": True})
    monkeypatch.setattr(os, "statvfs", lambda path: Statvfs(1000, 990, 500, 493))
    usage = resolve(disk.usage())
    assert (usage.bytes_used, usage.inodes_used) == expected
    # The ballast's images: always the whole file system less the base.
    disk.restore({**state, "project_quota": False})
    usage = resolve(disk.usage())
    assert (usage.bytes_used, usage.inodes_used) == (10 * 4096 - 16384, 7 - 3)
