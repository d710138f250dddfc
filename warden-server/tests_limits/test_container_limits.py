"""ContainerLimits (what the Linux backend calls) on real v1 cgroups, without a server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from limits_support import CGROUP_ROOT, DISK_SCRIPT, CgroupSandbox, resolve, run_command, wait_until

from warden.protocol import (
    InfoResponse,
    LimitCpuRequest,
    LimitDiskRequest,
    LimitDiskResponse,
    LimitMemoryRequest,
)
from warden.server._config import parse_config
from warden.server._errors import ConfigError, WardenError
from warden.server._watch import DirectoryWatcher
from warden.server.linux._limits import DEFAULT_PIDS_LIMIT, ContainerLimits, LimitsSettings

MIB = 1024 * 1024


def settings_from(**server: Any) -> LimitsSettings:
    return LimitsSettings.from_config(parse_config({"server": server}))


def test_settings_defaults() -> None:
    settings = settings_from(root_scripts_path="/opt/scripts")
    assert settings.disk_backend == "loop"
    assert settings.pids_limit == DEFAULT_PIDS_LIMIT
    assert settings.cgroup_parent == "warden"
    assert settings.disk_script == Path("/opt/scripts/linux/disk.sh")
    assert settings.cgroup_root == Path("/sys/fs/cgroup")


def test_settings_from_keys() -> None:
    settings = settings_from(
        container_pids_limit=77, disk_limit_backend="quota", cgroup_parent="p",
        disk_image_size=123456789, disk_image_inodes=5000, cgroup_root="/cg",
    )  # fmt: skip
    assert settings.pids_limit == 77
    assert (settings.disk_backend, settings.cgroup_parent) == ("quota", "p")
    assert (settings.disk_image_size, settings.disk_image_inodes) == (123456789, 5000)
    assert settings.image_size() == 123456789
    assert settings.cgroup_root == Path("/cg")
    assert settings_from(container_pids_limit=0).pids_limit is None


def test_disabled_quotas_turn_disk_limits_off() -> None:
    off = settings_from(quota={"disk_quota_enabled": False}, disk_limit_backend="loop")
    assert off.disk_backend == "none"


def test_image_size_defaults_to_the_depot_file_system(tmp_path: Path) -> None:
    settings = settings_from(container_depot_path=str(tmp_path))
    stat = os.statvfs(tmp_path)
    assert settings.image_size() == stat.f_blocks * stat.f_frsize


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "disk_limit_backend",
            "zfs",
            "server.disk_limit_backend: expected one of loop, quota, none",
        ),
        ("disk_image_size", "big", "server.disk_image_size: expected a non-negative integer"),
        ("disk_image_inodes", -1, "server.disk_image_inodes: expected a non-negative integer"),
        ("cgroup_root", 5, "server.cgroup_root: expected a non-empty string"),
    ],
)
def test_bad_settings_name_the_key(key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from(**{key: value})


class Made:
    def __init__(self, limits: ContainerLimits, resources: dict[str, Any], ooms: list[str]):
        self.limits = limits
        self.resources = resources
        self.ooms = ooms


@pytest.fixture
def files(reactor: Any) -> Any:
    watcher = DirectoryWatcher(reactor)
    yield watcher
    watcher.close()


def make_limits(
    cgroups: CgroupSandbox, reactor: Any, files: Any, tmp_path: Path, *,
    resources: dict[str, Any] | None = None, disk: str = "none",
) -> Made:  # fmt: skip
    settings = LimitsSettings(
        cgroup_parent=cgroups.parent, cgroup_root=CGROUP_ROOT, pids_limit=40,
        disk_backend=disk, disk_script=DISK_SCRIPT, depot_path=tmp_path,
        disk_image_size=512 * MIB, disk_image_inodes=2000,
    )  # fmt: skip
    resources = {} if resources is None else resources
    ooms: list[str] = []
    limits = ContainerLimits(
        settings, container_id="c1", container_path=tmp_path / "c1", uid=10001,
        resources=resources, reactor=reactor, files=files, run=run_command,
        on_oom=lambda: ooms.append("oom"),
    )  # fmt: skip
    return Made(limits, resources, ooms)


@pytest.fixture
def made(cgroups: CgroupSandbox, reactor: Any, files: Any, tmp_path: Path) -> Made:
    cgroups.create("c1")
    return make_limits(cgroups, reactor, files, tmp_path)


def test_started_sets_the_pids_limit(made: Made) -> None:
    made.limits.started()
    assert made.limits.cgroup.pids_limit() == 40


def test_limit_memory_sets_records_and_reads_back(made: Made) -> None:
    limits = made.limits
    response = resolve(limits.limit_memory(LimitMemoryRequest(handle="h", limit_in_bytes=64 * MIB)))
    assert response.limit_in_bytes == 64 * MIB
    assert made.resources["limit_memory"] == 64 * MIB
    query = resolve(limits.limit_memory(LimitMemoryRequest(handle="h")))
    assert query.limit_in_bytes == 64 * MIB


def test_limit_cpu_sets_records_and_reads_back(made: Made) -> None:
    response = resolve(made.limits.limit_cpu(LimitCpuRequest(handle="h", limit_in_shares=300)))
    assert response.limit_in_shares == 300
    assert made.resources["limit_cpu"] == 300
    assert resolve(made.limits.limit_cpu(LimitCpuRequest(handle="h"))).limit_in_shares == 300


def test_oom_calls_back_until_stopped(made: Made, cgroups: CgroupSandbox, reactor: Any) -> None:
    resolve(made.limits.limit_memory(LimitMemoryRequest(handle="h", limit_in_bytes=32 * MIB)))
    hog = cgroups.spawn("c1", "exec python3 -c 'x = bytearray(200 << 20)'")
    assert hog.wait() == -9
    wait_until(lambda: reactor.iterate(0.05) or bool(made.ooms), "OOM callback")
    assert made.ooms == ["oom"]
    made.limits.stopped()
    hog = cgroups.spawn("c1", "exec python3 -c 'x = bytearray(200 << 20)'")
    assert hog.wait() == -9
    for _ in range(10):
        reactor.iterate(0.02)
    assert made.ooms == ["oom"]


def test_info_has_known_memory_fields_and_cpu(made: Made) -> None:
    response = InfoResponse()
    resolve(made.limits.add_info(response))
    assert response.HasField("memory_stat") and response.HasField("cpu_stat")
    assert response.memory_stat.hierarchical_memory_limit == 9223372036854771712
    assert not response.HasField("disk_stat")  # disk limits off


def test_disk_limits_off_answer_nothing(made: Made) -> None:
    response = resolve(made.limits.limit_disk(LimitDiskRequest(handle="h", byte_limit=MIB)))
    assert response == LimitDiskResponse()


def test_errors_use_the_originals_texts(made: Made, cgroups: CgroupSandbox) -> None:
    cgroups.kill_all("c1")
    for controller in ("memory", "cpu", "cpuacct"):
        cgroups.directory(controller, "c1").rmdir()
    with pytest.raises(WardenError, match=r"^Failed setting memory limit: \[Errno 2\]"):
        resolve(made.limits.limit_memory(LimitMemoryRequest(handle="h", limit_in_bytes=MIB)))
    with pytest.raises(WardenError, match=r"^Failed setting cpu shares: \[Errno 2\]"):
        resolve(made.limits.limit_cpu(LimitCpuRequest(handle="h", limit_in_shares=5)))
    with pytest.raises(WardenError, match=r"^Failed getting memory usage: \[Errno 2\]"):
        resolve(made.limits.add_info(InfoResponse()))
    cgroups.directory("memory", "c1").mkdir()
    with pytest.raises(WardenError, match=r"^Failed getting cpu stats: \[Errno 2\]"):
        resolve(made.limits.add_info(InfoResponse()))


def test_restore_applies_the_recorded_limits_again(
    made: Made, cgroups: CgroupSandbox, reactor: Any, files: Any, tmp_path: Path
) -> None:
    resolve(made.limits.limit_memory(LimitMemoryRequest(handle="h", limit_in_bytes=48 * MIB)))
    resolve(made.limits.limit_cpu(LimitCpuRequest(handle="h", limit_in_shares=200)))
    made.limits.stopped()  # the old server's watch goes with it
    cgroup = made.limits.cgroup
    cgroup.set_memory_limit(96 * MIB)
    cgroup.set_cpu_shares(1024)
    cgroup.set_pids_limit(None)
    again = make_limits(cgroups, reactor, files, tmp_path, resources=dict(made.resources))
    resolve(again.limits.restore())
    assert cgroup.memory_limit() == 48 * MIB
    assert cgroup.cpu_shares() == 200
    assert cgroup.pids_limit() == 40
    hog = cgroups.spawn("c1", "exec python3 -c 'x = bytearray(200 << 20)'")
    assert hog.wait() == -9
    wait_until(lambda: reactor.iterate(0.05) or bool(again.ooms), "OOM watched again")
    again.limits.stopped()


def test_loop_disk_through_the_collaborator(
    cgroups: CgroupSandbox, reactor: Any, files: Any, tmp_path: Path
) -> None:
    """Create makes the image (not started: usage comes from its superblock); destroy removes it."""
    cgroups.create("c1")
    (tmp_path / "c1" / "tmp" / "rootfs").mkdir(parents=True)
    made = make_limits(cgroups, reactor, files, tmp_path, disk="loop")
    resolve(made.limits.create())
    assert (tmp_path / "c1" / "tmp" / "disk.img").exists()
    assert made.resources["disk"]["base_bytes"] > 0
    response = resolve(made.limits.limit_disk(LimitDiskRequest(handle="h", byte=10 * MIB)))
    assert (response.byte, response.block_limit) == (10 * MIB, 10 * 1024)
    assert made.resources["disk"]["limits"]["block_hard"] == 10 * 1024
    info = InfoResponse()
    resolve(made.limits.add_info(info))
    assert (info.disk_stat.bytes_used, info.disk_stat.inodes_used) == (0, 0)
    resolve(made.limits.destroy())
    assert not (tmp_path / "c1" / "tmp" / "disk.img").exists()
