"""The cgroup layout (v1, hybrid, v2) and what the scripts are told, from mountinfo
samples and fake trees; and host preparation on a fake v2 tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from warden.server.linux.cgroups import (
    V1_DEVICE_RULES,
    CgroupLayout,
    CgroupSetupError,
    host_layout,
    prepare_host,
)
from warden.server.linux.cgroups._layout import parse_mountinfo

V1_MOUNTINFO = """\
25 30 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw
26 25 0:23 / /sys/fs/cgroup ro,nosuid shared:8 - tmpfs tmpfs ro,mode=755
27 26 0:24 / /sys/fs/cgroup/unified rw shared:9 - cgroup2 cgroup2 rw,nsdelegate
30 26 0:27 / /sys/fs/cgroup/cpu,cpuacct rw shared:12 - cgroup cgroup rw,cpu,cpuacct
31 26 0:28 / /sys/fs/cgroup/memory rw shared:13 - cgroup cgroup rw,memory
32 26 0:29 / /sys/fs/cgroup/devices rw shared:14 - cgroup cgroup rw,devices
33 26 0:30 / /sys/fs/cgroup/pids rw shared:15 - cgroup cgroup rw,pids
34 26 0:31 / /sys/fs/cgroup/freezer rw shared:16 - cgroup cgroup rw,freezer
35 26 0:31 /nested /mnt/freezer-again rw shared:16 - cgroup cgroup rw,freezer
36 26 0:32 / /sys/fs/cgroup/with\\040space rw shared:17 - cgroup cgroup rw,hugetlb
"""


def test_mountinfo_gives_v1_hierarchies_and_cgroup2_mounts() -> None:
    v1, v2 = parse_mountinfo(V1_MOUNTINFO)
    root = Path("/sys/fs/cgroup")
    assert v1["cpu"] == v1["cpuacct"] == root / "cpu,cpuacct"
    assert v1["freezer"] == root / "freezer"  # not the bind mount of a sub-cgroup
    assert v1["hugetlb"] == root / "with space"
    assert v2 == [root / "unified"]


def test_hybrid_host_uses_its_v1_hierarchies(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(V1_MOUNTINFO)
    layout = CgroupLayout.detect("warden", Path("/sys/fs/cgroup"), mountinfo=str(mountinfo))
    assert (layout.version, layout.hybrid) == (1, True)
    assert layout.describe() == "cgroup v1 (hybrid)"
    dirs = layout.container("abc")
    cpu = Path("/sys/fs/cgroup/cpu,cpuacct/warden/instance-abc")
    assert dirs.dirs.count(cpu) == 1  # co-mounted: one directory for both
    assert len(dirs.dirs) == 5
    assert dirs.main == Path("/sys/fs/cgroup/freezer/warden/instance-abc")
    assert dirs.devices == Path("/sys/fs/cgroup/devices/warden/instance-abc")
    assert dirs.member == "freezer:/warden/instance-abc"
    assert Path("/sys/fs/cgroup/memory/warden") in layout.parent_dirs()


def test_v1_script_environment() -> None:
    layout = CgroupLayout(
        version=1,
        root=Path("/cg"),
        parent="p",
        mounts={
            c: Path("/cg") / c for c in ("cpu", "cpuacct", "memory", "devices", "pids", "freezer")
        },
    )
    env = layout.container("x1").script_env()
    assert env["cgroup_version"] == "1"
    assert env["cgroup_dir"] == "/cg/freezer/p/instance-x1"
    assert env["cgroup_devices"] == "/cg/devices/p/instance-x1"
    assert env["cgroup_dirs"].splitlines()[0] == "/cg/cpu/p/instance-x1"
    assert len(env["cgroup_dirs"].splitlines()) == 6
    assert env["cgroup_devices_allow"].splitlines() == list(V1_DEVICE_RULES)
    assert "c 136:* rwm" in V1_DEVICE_RULES and "c 1:3 rwm" in V1_DEVICE_RULES
    assert env["cgroup_member"] == "freezer:/p/instance-x1"


def fake_v2_root(tmp_path: Path, controllers: str = "cpuset cpu io memory hugetlb pids") -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "cgroup.controllers").write_text(controllers + "\n")
    (tmp_path / "cgroup.subtree_control").write_text("")
    return tmp_path


def test_unified_root_is_v2_with_one_directory_per_container(tmp_path: Path) -> None:
    root = fake_v2_root(tmp_path)
    layout = CgroupLayout.detect("warden", root)
    assert (layout.version, layout.describe()) == (2, "cgroup v2")
    assert layout.mount("memory") == root
    assert layout.parent_dirs() == (root / "warden",)
    env = layout.container("abc").script_env()
    assert env == {
        "cgroup_version": "2",
        "cgroup_dir": str(root / "warden" / "instance-abc"),
        "cgroup_dirs": str(root / "warden" / "instance-abc"),
        "cgroup_devices": "",
        "cgroup_devices_allow": "",
        "cgroup_member": ":/warden/instance-abc",
    }


def test_membership_is_read_from_proc(tmp_path: Path) -> None:
    # This process is in no container: neither layout claims it.
    v2 = CgroupLayout.detect("warden", fake_v2_root(tmp_path))
    assert not v2.container("abc").contains(1)
    assert not v2.container("abc").contains(2**22 + 1)  # no such process


def test_v2_host_preparation_enables_controllers_and_makes_the_parent(tmp_path: Path) -> None:
    root = fake_v2_root(tmp_path)
    # What the kernel would show in the new parent.
    fake_v2_root(root / "warden-x", "cpu memory pids")
    layout = prepare_host("warden-x", root)
    try:
        assert layout.version == 2
        # A fake tree keeps the last write: the last controller enabled in each.
        assert (root / "cgroup.subtree_control").read_text() == "+pids"
        assert (root / "warden-x" / "cgroup.subtree_control").read_text() == "+pids"
        assert host_layout("warden-x", root) is layout
    finally:
        host_layout.cache_clear()


def test_v2_host_without_a_controller_is_refused_naming_it(tmp_path: Path) -> None:
    root = fake_v2_root(tmp_path, "cpuset cpu io pids")
    with pytest.raises(CgroupSetupError, match="memory controller is not available"):
        prepare_host("warden-x", root)
    host_layout.cache_clear()


@pytest.mark.parametrize("parent", ["", "a/b", "..", "."])
def test_parent_must_be_a_plain_name(tmp_path: Path, parent: str) -> None:
    with pytest.raises(CgroupSetupError, match="plain name"):
        prepare_host(parent, fake_v2_root(tmp_path))


def test_a_server_started_inside_its_parent_moves_into_a_leaf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from warden.server.linux.cgroups import _host

    root = fake_v2_root(tmp_path)
    fake_v2_root(root / "warden-x", "cpu memory pids")
    (root / "warden-x" / "server").mkdir()
    (root / "warden-x" / "server" / "cgroup.procs").write_text("")
    monkeypatch.setattr(_host, "own_cgroup", lambda: "/warden-x")
    try:
        prepare_host("warden-x", root)
    finally:
        host_layout.cache_clear()
    # Moved before the parent hands controllers down (it must hold no process).
    assert (root / "warden-x" / "server" / "cgroup.procs").read_text() == str(os.getpid())
    assert (root / "warden-x" / "cgroup.subtree_control").read_text() == "+pids"


def test_a_cgroup2_mount_at_the_root_is_v2(tmp_path: Path) -> None:
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "25 30 0:22 / /sys rw shared:7 - sysfs sysfs rw\n"
        "26 25 0:23 / /sys/fs/cgroup rw shared:8 - cgroup2 cgroup2 rw,nsdelegate\n"
    )
    layout = CgroupLayout.detect("warden", Path("/sys/fs/cgroup"), mountinfo=str(mountinfo))
    assert (layout.version, layout.hybrid) == (2, False)
    assert layout.container("a").main == Path("/sys/fs/cgroup/warden/instance-a")
