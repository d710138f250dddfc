"""Reading an ext4 image's superblock counters (used for a stopped container's disk_stat)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from warden.server.linux._disk import read_ext4_counts


def dumpe2fs(image: Path) -> dict[str, int]:
    out = subprocess.run(["dumpe2fs", "-h", str(image)], capture_output=True, text=True, check=True)
    values = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition(":")
        if value.strip().isdigit():
            values[key] = int(value)
    return values


@pytest.mark.parametrize("size", ["64M", "300G"])  # 300G: 64-bit block counts
def test_counts_match_dumpe2fs(tmp_path: Path, size: str) -> None:
    image = tmp_path / "fs.img"
    subprocess.run(["truncate", "-s", size, str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-O", "64bit", "-N", "1000", str(image)], check=True)
    counts = read_ext4_counts(image)
    expected = dumpe2fs(image)
    assert counts.blocks == expected["Block count"]
    assert counts.free_blocks == expected["Free blocks"]
    assert counts.inodes == expected["Inode count"]
    assert counts.free_inodes == expected["Free inodes"]
    assert counts.block_size == expected["Block size"]


def test_not_ext4(tmp_path: Path) -> None:
    image = tmp_path / "zeros"
    image.write_bytes(bytes(4096))
    with pytest.raises(ValueError, match="not an ext4 file system"):
        read_ext4_counts(image)
    image.write_bytes(bytes(100))
    with pytest.raises(ValueError, match="too short"):
        read_ext4_counts(image)
