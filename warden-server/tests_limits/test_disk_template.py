"""Disk images copied from a template (no mkfs on the create path) are the
images mkfs would make: the same layout, base use and limits.

The other tests of the loop backend run on templated images (the default of
``LoopDiskPaths.for_container``); these compare with an image made afresh and
check when a template is made again.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
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

from warden.server.linux._disk import DiskLimitError, LoopDisk, LoopDiskPaths, parse_values

MIB = 1024 * 1024
Disks = list[tuple[LoopDisk, LayerContainer]]
IMAGE_SIZE = 1024 * MIB
IMAGE_INODES = 4000


def make_disk(paths: LoopDiskPaths, container: LayerContainer) -> LoopDisk:
    return LoopDisk(
        paths=paths,
        script=DISK_SCRIPT,
        run=run_command,
        image_size=IMAGE_SIZE,
        image_inodes=IMAGE_INODES,
        live_root=container.live_root,
    )


def freed(image: Path) -> bool:
    return not loop_devices_of(image)


@pytest.fixture
def disks(tmp_path: Path) -> Iterator[Disks]:
    made: Disks = []
    yield made
    for disk, container in made:
        container.stop()
        resolve(disk.destroy())
        wait_until(partial(freed, disk.paths.image), "loop device freed")
        assert not disk.paths.image.exists()
    assert mounts_under(tmp_path) == []


def new_disk(made: Disks, path: Path, *, template: bool) -> tuple[LoopDisk, LayerContainer]:
    container = LayerContainer(path)
    paths = LoopDiskPaths.for_container(path)
    if not template:
        paths = replace(paths, templates=None)
    disk = make_disk(paths, container)
    made.append((disk, container))
    resolve(disk.prepare())
    container.start()
    return disk, container


def template_files(depot: Path) -> list[Path]:
    return sorted((depot / ".disk-templates").iterdir())


def test_a_copied_image_is_the_image_mkfs_makes(tmp_path: Path, disks: Disks) -> None:
    fresh, _ = new_disk(disks, tmp_path / "fresh", template=False)
    assert not (tmp_path / ".disk-templates").exists()
    first, first_container = new_disk(disks, tmp_path / "first", template=True)
    second, second_container = new_disk(disks, tmp_path / "second", template=True)
    names = [p.name for p in template_files(tmp_path)]
    assert names == [f"{IMAGE_SIZE}-{IMAGE_INODES}.img", f"{IMAGE_SIZE}-{IMAGE_INODES}.values"]
    assert first.snapshot() == fresh.snapshot() == second.snapshot()
    # The seed moved into each image's upper layer; the template holds none of it.
    for container in (first_container, second_container):
        assert container.sh("cat etc/hostname").stdout == "layer-test\n"
    assert resolve(first.usage()) == resolve(fresh.usage())
    # Sparse: a copy costs what the file system's metadata takes, not its size.
    assert os.stat(second.paths.image).st_blocks * 512 < 64 * MIB


def test_a_template_older_than_the_script_is_made_again(tmp_path: Path, disks: Disks) -> None:
    new_disk(disks, tmp_path / "first", template=True)
    image = template_files(tmp_path)[0]
    old = DISK_SCRIPT.stat().st_mtime - 60
    os.utime(image, (old, old))
    new_disk(disks, tmp_path / "second", template=True)
    assert image.stat().st_mtime > DISK_SCRIPT.stat().st_mtime
    # Only the template and its values: no half-made template left behind.
    assert len(template_files(tmp_path)) == 2


def test_a_copy_with_nothing_to_move_in_is_not_mounted(tmp_path: Path, disks: Disks) -> None:
    """The Linux backend's case: setup.sh's files stay for the start to move
    in, and the copy of the template is the layout as the template has it."""
    fresh, _ = new_disk(disks, tmp_path / "fresh", template=False)
    new_disk(disks, tmp_path / "first", template=True)  # makes the template
    path = tmp_path / "later"
    container = LayerContainer(path)
    paths = LoopDiskPaths.for_container(path, seed_at_start=True)
    disk = make_disk(paths, container)
    disks.append((disk, container))
    resolve(disk.prepare())
    assert (path / "tmp" / "rootfs" / "etc" / "hostname").read_text() == "layer-test\n"
    assert not (path / "tmp" / "disk-admin").exists()  # never mounted
    assert disk.snapshot() == fresh.snapshot()
    container.start()
    assert resolve(disk.usage()).bytes_used == 0


#: ``disk.sh create`` as ``create.sh`` runs it: sourced in a subshell of
#: another script (``$0`` is not disk.sh), with create.sh's shell options.
SOURCED_CREATE = (
    "set -o nounset -o errexit -o pipefail; shopt -s inherit_errexit; set +o errexit; "
    '( set -o errexit; shopt -u inherit_errexit; source "$1" create ); status=$?; '
    'set -o errexit; (( status == 0 )) || exit "$status"; echo after'
)


def sourced_create_started(disk: LoopDisk, **extra: str) -> subprocess.Popen[bytes]:
    """A sourced ``disk.sh create`` under way (``SOURCED_CREATE``)."""
    return subprocess.Popen(
        ["bash", "-c", SOURCED_CREATE, "not-disk.sh", str(DISK_SCRIPT)],
        env={**os.environ, **disk.create_env(), **extra},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def sourced_create(disk: LoopDisk, **extra: str) -> subprocess.CompletedProcess[bytes]:
    """A sourced ``disk.sh create`` to its end (``SOURCED_CREATE``)."""
    process = sourced_create_started(disk, **extra)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_create_sourced_by_another_script_makes_the_same_image(
    tmp_path: Path, disks: Disks
) -> None:
    """The first sourced create makes the template (disk.sh runs itself again
    in a private mount namespace: by its own path, not ``$0``), the next
    copies it; both give what ``disk.sh create`` run as a script gives."""
    fresh, _ = new_disk(disks, tmp_path / "fresh", template=False)
    for name in ("first", "second"):
        path = tmp_path / name
        container = LayerContainer(path)
        disk = make_disk(LoopDiskPaths.for_container(path, seed_at_start=True), container)
        disks.append((disk, container))
        made = sourced_create(disk)
        assert made.returncode == 0, made.stderr
        assert made.stdout.endswith(b"\nafter\n")
        disk.created(parse_values(made.stdout))
        assert disk.snapshot() == fresh.snapshot()
        assert len(template_files(tmp_path)) == 2
        container.start()
        assert resolve(disk.usage()).bytes_used == 0


def test_creates_at_once_on_a_new_depot_share_one_template(tmp_path: Path, disks: Disks) -> None:
    """Several first creates race to make the templates' directory and the
    template itself: every one succeeds, and one template is left."""
    made = []
    for index in range(8):
        path = tmp_path / f"c{index}"
        container = LayerContainer(path)
        disk = make_disk(LoopDiskPaths.for_container(path, seed_at_start=True), container)
        disks.append((disk, container))
        made.append((disk, container, sourced_create_started(disk)))
    for disk, container, process in made:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        disk.created(parse_values(stdout))
        container.start()
    assert len(template_files(tmp_path)) == 2


def test_a_failed_sourced_create_ends_its_caller_with_its_status(tmp_path: Path) -> None:
    path = tmp_path / "bad"
    container = LayerContainer(path)
    disk = make_disk(LoopDiskPaths.for_container(path, seed_at_start=True), container)
    made = sourced_create(disk, DISK_SIZE="lots")
    assert made.returncode == 1
    assert made.stdout == b""
    assert made.stderr.decode().strip().splitlines()[-1] == (
        "disk: DISK_SIZE must be a non-negative integer: lots"
    )
    assert not disk.paths.image.exists()
    with pytest.raises(DiskLimitError, match="printed no base_bytes"):
        disk.created(parse_values(made.stdout))
