"""The guest itself: what the suites in suites.txt rely on about their host.

Runs inside the QEMU guest (``run-suites.sh`` lists it first); on any other
host these tests fail, which is their point: they tell a real cgroup v2
kernel from a v1 or hybrid one, and a guest with no network from one with.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

import pytest

import warden.server

CGROUP_ROOT = Path("/sys/fs/cgroup")
CHECKOUT = Path(__file__).resolve().parents[2]
#: The controllers a container's limits and statistics use.
NEEDED_CONTROLLERS = {"cpu", "cpuset", "io", "memory", "pids"}


def mounts() -> list[tuple[str, str]]:
    """(mount point, file system type) of every mount, in /proc/mounts order."""
    lines = Path("/proc/mounts").read_text().splitlines()
    return [(fields[1], fields[2]) for fields in (line.split() for line in lines)]


def test_only_the_cgroup2_hierarchy_is_mounted() -> None:
    cgroup_mounts = [(point, kind) for point, kind in mounts() if kind.startswith("cgroup")]
    assert cgroup_mounts == [(str(CGROUP_ROOT), "cgroup2")]


def test_the_root_offers_and_delegates_the_needed_controllers() -> None:
    available = set((CGROUP_ROOT / "cgroup.controllers").read_text().split())
    delegated = set((CGROUP_ROOT / "cgroup.subtree_control").read_text().split())
    assert available >= NEEDED_CONTROLLERS
    assert delegated >= NEEDED_CONTROLLERS


def test_the_run_is_not_in_the_root_cgroup() -> None:
    # Like a systemd host: the root cgroup holds no process of ours.
    own = Path("/proc/self/cgroup").read_text().strip()
    assert own.startswith("0::/") and own != "0::/"


def test_a_child_cgroup_takes_limits_and_is_removed() -> None:
    # Elsewhere /sys/fs/cgroup may be a plain tmpfs, where this would make files.
    if (str(CGROUP_ROOT), "cgroup2") not in mounts():
        pytest.fail(f"{CGROUP_ROOT} is not a cgroup2 mount")
    child = CGROUP_ROOT / f"warden-guest-test-{secrets.token_hex(4)}"
    child.mkdir()
    try:
        (child / "memory.max").write_text("67108864")
        (child / "pids.max").write_text("16")
        assert (child / "memory.max").read_text().strip() == "67108864"
        assert (child / "pids.max").read_text().strip() == "16"
    finally:
        child.rmdir()
    assert not child.exists()


def test_there_is_no_network_device_but_loopback() -> None:
    assert sorted(os.listdir("/sys/class/net")) == ["lo"]


@pytest.mark.parametrize("module", ["loop", "tun", "veth", "overlay", "nf_tables", "bridge"])
def test_the_backends_modules_are_loaded(module: str) -> None:
    assert Path("/sys/module", module).is_dir()


def test_the_checkout_is_shared_at_its_host_path() -> None:
    assert Path(warden.server.__file__).is_relative_to(CHECKOUT / "warden-server" / "src")
    assert (CHECKOUT / "root-scripts" / "linux" / "bin" / "warden-exec").is_file()


def test_the_console_scripts_sit_next_to_python() -> None:
    # warden.server.testing starts the server found next to sys.executable.
    for name in ("warden-server", "warden"):
        assert shutil.which(name) == str(Path(sys.executable).with_name(name))
