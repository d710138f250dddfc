"""Disk limits with kernel quotas, for hosts that have them.

As the original: per-uid user quotas on the file system that holds the
container depot, in 1 KiB blocks and inodes, reset to no limit at create. The
original ran ``setquota`` and its own C ``repquota``; here both are one
``quotactl(2)`` call made in the server process (no process is started).
"""

from __future__ import annotations

import ctypes
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ._backend import DiskLimitError, DiskUsage
from ._request import DiskLimits

__all__ = ["KernelQuota", "QuotaDisk", "QuotaRecord", "Quotactl", "mount_source"]

_Q_GETQUOTA = 0x800007
_Q_SETQUOTA = 0x800008
_USRQUOTA = 0
_QIF_BLIMITS = 1
_QIF_ILIMITS = 4


def _qcmd(command: int, kind: int) -> int:
    return (command << 8) | (kind & 0xFF)


class _IfDqblk(ctypes.Structure):
    _fields_ = [
        ("bhardlimit", ctypes.c_uint64),
        ("bsoftlimit", ctypes.c_uint64),
        ("curspace", ctypes.c_uint64),
        ("ihardlimit", ctypes.c_uint64),
        ("isoftlimit", ctypes.c_uint64),
        ("curinodes", ctypes.c_uint64),
        ("btime", ctypes.c_uint64),
        ("itime", ctypes.c_uint64),
        ("valid", ctypes.c_uint32),
    ]


@dataclass(frozen=True)
class QuotaRecord:
    """One uid's quota: limits in 1 KiB blocks and inodes, use in bytes and inodes."""

    limits: DiskLimits
    bytes_used: int
    inodes_used: int


class Quotactl(Protocol):
    """Reading and writing one uid's user quota on a block device."""

    def get(self, device: str, uid: int) -> QuotaRecord:
        """The uid's limits and use."""
        ...

    def set(self, device: str, uid: int, limits: DiskLimits) -> None:
        """Replace the uid's limits."""
        ...


class KernelQuota:
    """``Quotactl`` through the ``quotactl(2)`` system call."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.quotactl.argtypes = [
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_void_p,
        ]

    def _call(self, command: int, device: str, uid: int, block: _IfDqblk) -> None:
        status = self._libc.quotactl(
            _qcmd(command, _USRQUOTA), os.fsencode(device), uid, ctypes.byref(block)
        )
        if status != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"quotactl on {device} for uid {uid}: {os.strerror(code)}")

    def get(self, device: str, uid: int) -> QuotaRecord:
        block = _IfDqblk()
        self._call(_Q_GETQUOTA, device, uid, block)
        return QuotaRecord(
            limits=DiskLimits(
                block_soft=block.bsoftlimit,
                block_hard=block.bhardlimit,
                inode_soft=block.isoftlimit,
                inode_hard=block.ihardlimit,
            ),
            bytes_used=block.curspace,
            inodes_used=block.curinodes,
        )

    def set(self, device: str, uid: int, limits: DiskLimits) -> None:
        block = _IfDqblk(
            bhardlimit=limits.block_hard,
            bsoftlimit=limits.block_soft,
            ihardlimit=limits.inode_hard,
            isoftlimit=limits.inode_soft,
            valid=_QIF_BLIMITS | _QIF_ILIMITS,
        )
        self._call(_Q_SETQUOTA, device, uid, block)


_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")  # mountinfo writes a space as \040


def mount_source(path: Path, mountinfo: Path = Path("/proc/self/mountinfo")) -> tuple[str, str]:
    """The (device, mount point) of the file system holding ``path``."""
    target = os.path.realpath(path)
    best: tuple[str, str] | None = None
    for line in mountinfo.read_text().splitlines():
        fields = line.split()
        point = _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[1])):
            source = fields[fields.index("-") + 2]
            best = (source, point)
    if best is None:
        raise DiskLimitError(f"Couldn't find device for {target}")
    return best


class QuotaDisk:
    """A container's disk limits as user quotas of its uid on the depot's file system."""

    enabled = True

    def __init__(self, *, uid: int, depot_path: Path, quota: Quotactl) -> None:
        self._uid = uid
        self._depot_path = depot_path
        self._quota = quota

    def _device(self) -> str:
        return mount_source(self._depot_path)[0]

    def _record(self) -> QuotaRecord:
        try:
            return self._quota.get(self._device(), self._uid)
        except OSError as problem:
            raise DiskLimitError(str(problem)) from problem

    async def prepare(self) -> None:
        await self.apply(DiskLimits())  # a uid reused from the pool starts unlimited

    async def limits(self) -> DiskLimits:
        return self._record().limits

    async def apply(self, limits: DiskLimits) -> None:
        try:
            self._quota.set(self._device(), self._uid, limits)
        except OSError as problem:
            raise DiskLimitError(str(problem)) from problem

    async def usage(self) -> DiskUsage:
        record = self._record()
        return DiskUsage(bytes_used=record.bytes_used, inodes_used=record.inodes_used)

    async def destroy(self) -> None:
        return None

    def snapshot(self) -> dict[str, Any]:
        return {}  # the quota is kept by the file system

    def restore(self, data: Mapping[str, Any]) -> None:
        return None
