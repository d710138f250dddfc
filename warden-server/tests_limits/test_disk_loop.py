"""The loop disk backend with real loop devices, ext4 images and overlay mounts.

Each test makes a container directory, its disk image (``disk.sh create``),
and a stand-in container that mounts the layer in a private mount namespace
(``LayerContainer``); writes happen inside that namespace. Every test checks
on the way out that no loop device, mount or image is left.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from limits_support import (
    DISK_SCRIPT,
    LayerContainer,
    loop_devices_of,
    mounts_under,
    resolve,
    run_command,
    wait_until,
)

from warden.server.linux._disk import DiskLimitError, DiskLimits, LoopDisk, LoopDiskPaths

MIB = 1024 * 1024
IMAGE_SIZE = 1024 * MIB
IMAGE_INODES = 4000
KIB_BLOCKS = 1024


def limits_mib(mib: int, inodes: int = 0) -> DiskLimits:
    return DiskLimits(block_hard=mib * KIB_BLOCKS, inode_hard=inodes)


class Layer:
    """A container, its LoopDisk, and the clean-up check."""

    def __init__(self, path: Path) -> None:
        self.container = LayerContainer(path)
        self.paths = LoopDiskPaths.for_container(path)
        self.disk = self.make_disk()

    def make_disk(self) -> LoopDisk:
        return LoopDisk(
            paths=self.paths,
            script=DISK_SCRIPT,
            run=run_command,
            image_size=IMAGE_SIZE,
            image_inodes=IMAGE_INODES,
            live_root=self.container.live_root,
        )

    def apply(self, limits: DiskLimits) -> None:
        resolve(self.disk.apply(limits))

    def usage_bytes(self) -> int:
        return resolve(self.disk.usage()).bytes_used

    def usage_inodes(self) -> int:
        return resolve(self.disk.usage()).inodes_used


@pytest.fixture
def layer(tmp_path: Path) -> Iterator[Layer]:
    made = Layer(tmp_path / "c")
    resolve(made.disk.prepare())
    made.container.start()
    try:
        yield made
    finally:
        made.container.stop()
        resolve(made.disk.destroy())
        wait_until(lambda: not loop_devices_of(made.paths.image), "loop device freed")
        assert not made.paths.image.exists()
        assert mounts_under(tmp_path) == []


def test_image_is_sparse_and_holds_the_first_files(layer: Layer) -> None:
    image = layer.paths.image
    assert image.stat().st_size == IMAGE_SIZE
    assert image.stat().st_blocks * 512 < 32 * MIB
    assert list(layer.paths.seed.iterdir()) == []  # moved into the image's upper/
    shown = layer.container.sh("cat etc/hostname from-lower")
    assert shown.stdout == "layer-test\nlower\n"
    assert mounts_under(layer.container.path) == []  # mounted only in the container's namespace
    assert len(loop_devices_of(image)) == 1


def test_fresh_layer_uses_only_the_first_files(layer: Layer) -> None:
    assert layer.usage_bytes() == 2 * 4096  # etc/ and etc/hostname, one block each
    assert layer.usage_inodes() == 2


def test_usage_moves_when_the_container_writes(layer: Layer) -> None:
    before_bytes, before_inodes = layer.usage_bytes(), layer.usage_inodes()
    assert layer.container.write("data", 5 * MIB).returncode == 0
    layer.container.sh("sync")
    assert layer.usage_bytes() - before_bytes == 5 * MIB
    assert layer.usage_inodes() - before_inodes == 1
    layer.container.sh("rm data && sync")
    assert layer.usage_bytes() == before_bytes


def test_writing_past_the_limit_fails_and_the_host_is_unaffected(
    layer: Layer, tmp_path: Path
) -> None:
    layer.apply(limits_mib(20))
    result = layer.container.write("big", 30 * MIB)
    assert "No space left on device" in result.stderr
    size = int(layer.container.sh("stat -c %s big").stdout)
    assert 19 * MIB < size <= 20 * MIB
    assert layer.usage_bytes() <= 20 * MIB
    host_file = tmp_path / "host-file"
    with open(host_file, "wb") as file:
        file.write(b"x" * 30 * MIB)
    assert host_file.stat().st_size == 30 * MIB


def test_raising_the_limit_of_a_live_container(layer: Layer) -> None:
    layer.apply(limits_mib(20))
    assert "No space left" in layer.container.write("first", 30 * MIB).stderr
    layer.apply(limits_mib(40))
    assert layer.container.write("second", 15 * MIB).returncode == 0
    assert "No space left" in layer.container.write("third", 10 * MIB).stderr
    assert layer.usage_bytes() <= 40 * MIB


def test_lowering_below_use_is_refused_with_the_use(layer: Layer) -> None:
    layer.apply(limits_mib(40))
    assert layer.container.write("data", 10 * MIB).returncode == 0
    used = layer.usage_bytes()
    with pytest.raises(DiskLimitError) as refused:
        layer.apply(limits_mib(5))
    assert refused.value.message == (
        f"the container uses {used} bytes, more than the requested limit of {5 * MIB} bytes"
    )
    assert resolve(layer.disk.limits()) == limits_mib(40)
    # Lowering to above the use works and holds.
    layer.apply(limits_mib(15))
    assert "No space left" in layer.container.write("more", 10 * MIB).stderr
    assert layer.usage_bytes() <= 15 * MIB


def test_the_script_refuses_too_when_use_grew_meanwhile(layer: Layer) -> None:
    """The server checks use first; disk.sh checks again (the container may have written since)."""
    layer.apply(limits_mib(40))
    assert layer.container.write("data", 10 * MIB).returncode == 0
    state = layer.disk.snapshot()
    stale = layer.make_disk()  # its idea of the ballast is off: use looks smaller than it is
    stale.restore({**state, "ballast_bytes": state["ballast_bytes"] + 20 * MIB})
    assert resolve(stale.usage()).bytes_used == 0
    with pytest.raises(DiskLimitError, match=r"^the container uses \d+ bytes, more than"):
        resolve(stale.apply(limits_mib(5)))


def test_inode_limit(layer: Layer) -> None:
    used = layer.usage_inodes()
    layer.apply(limits_mib(0, inodes=50))
    made = layer.container.sh(
        "for i in $(seq 100); do touch f$i 2>/dev/null || { echo $((i - 1)); exit; }; done"
    )
    assert int(made.stdout) == 50 - used
    assert layer.usage_inodes() == 50
    layer.apply(limits_mib(0, inodes=60))
    assert layer.container.sh("touch g1 g2 g3").returncode == 0
    with pytest.raises(DiskLimitError, match="uses 53 inodes, more than the requested limit of 40"):
        layer.apply(limits_mib(0, inodes=40))


def test_no_limit_again(layer: Layer) -> None:
    layer.apply(limits_mib(10, inodes=100))
    layer.apply(DiskLimits())
    assert layer.container.write("big", 100 * MIB).returncode == 0
    assert layer.container.sh("touch $(seq -f 'f%.0f' 200)").returncode == 0


def test_soft_limits_are_recorded_not_enforced(layer: Layer) -> None:
    wanted = DiskLimits(block_soft=1024, block_hard=0, inode_soft=10, inode_hard=0)
    layer.apply(wanted)
    assert resolve(layer.disk.limits()) == wanted
    assert layer.container.write("data", 5 * MIB).returncode == 0


def has_cap_sys_resource() -> bool:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) & (1 << 24))
    return False


def test_a_limit_beyond_the_image_grows_it_or_says_why(layer: Layer) -> None:
    """Growth resizes the mounted file system, which the kernel allows only with
    CAP_SYS_RESOURCE; where the server lacks it the request fails and says so."""
    wanted = limits_mib(2 * IMAGE_SIZE // MIB)
    if has_cap_sys_resource():
        layer.apply(wanted)
        assert layer.paths.image.stat().st_size > 2 * IMAGE_SIZE
        assert layer.container.write("big", IMAGE_SIZE + 100 * MIB).returncode == 0
    else:
        with pytest.raises(DiskLimitError, match="needs CAP_SYS_RESOURCE"):
            layer.apply(wanted)
        assert layer.paths.image.stat().st_size == IMAGE_SIZE  # put back
        assert resolve(layer.disk.limits()) == DiskLimits()
        layer.apply(limits_mib(20))  # the layer still works
        assert "No space left" in layer.container.write("big", 30 * MIB).stderr


def test_stopped_container_usage_and_limits(layer: Layer) -> None:
    layer.apply(limits_mib(30))
    assert layer.container.write("data", 7 * MIB).returncode == 0
    live = resolve(layer.disk.usage())
    layer.container.stop()
    wait_until(lambda: not loop_devices_of(layer.paths.image), "unmounted with its namespace")
    assert resolve(layer.disk.usage()) == live  # from the image's superblock
    layer.apply(limits_mib(10))  # while stopped
    wait_until(lambda: not loop_devices_of(layer.paths.image), "work mount gone")
    layer.container.start()
    assert "No space left" in layer.container.write("more", 5 * MIB).stderr
    assert layer.usage_bytes() <= 10 * MIB


def test_state_survives_a_server_restart(layer: Layer) -> None:
    layer.apply(DiskLimits(block_soft=5000, block_hard=20 * KIB_BLOCKS, inode_hard=100))
    assert layer.container.write("data", 3 * MIB).returncode == 0
    restarted = layer.make_disk()
    restarted.restore(layer.disk.snapshot())
    assert resolve(restarted.limits()) == resolve(layer.disk.limits())
    assert resolve(restarted.usage()) == resolve(layer.disk.usage())
    resolve(restarted.apply(limits_mib(25, inodes=100)))
    assert layer.container.write("more", 30 * MIB).returncode != 0
    assert restarted.snapshot()["limits"]["block_hard"] == 25 * KIB_BLOCKS


def test_destroy_of_a_running_container_frees_the_loop_device(tmp_path: Path) -> None:
    layer = Layer(tmp_path / "c")
    resolve(layer.disk.prepare())
    layer.container.start()
    assert loop_devices_of(layer.paths.image)
    resolve(layer.disk.destroy())  # marks the device autoclear; the image file goes
    assert not layer.paths.image.exists()
    assert layer.container.sh("echo still > here && cat here").stdout == "still\n"
    layer.container.stop()
    wait_until(lambda: not loop_devices_of(layer.paths.image), "loop device freed")
    resolve(layer.disk.destroy())  # again: nothing left, no error
    assert mounts_under(tmp_path) == []


def test_script_errors_are_clear(tmp_path: Path) -> None:
    result = resolve(run_command([str(DISK_SCRIPT), "limit"], env={}, check=False))
    assert result.exit_code == 1
    assert b"disk: required variable(s) not set: DISK_IMAGE" in result.stderr
    result = resolve(
        run_command(
            [str(DISK_SCRIPT), "create"],
            env={"DISK_IMAGE": tmp_path / "i", "DISK_ADMIN": tmp_path / "a",
                 "DISK_SIZE": "big", "DISK_INODES": "10"},
            check=False,
        )
    )  # fmt: skip
    assert result.exit_code == 1
    assert b"disk: DISK_SIZE must be a non-negative integer: big" in result.stderr
    assert os.listdir(tmp_path) == []
