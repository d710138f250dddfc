"""LimitDisk's fields and aliases, as the original read and answered them.

Limits are kept in quota units: 1 KiB blocks (the kernel's quota block,
whatever the file system's block size) and inodes, each with a soft and a
hard value; 0 means no limit. ``*_limit`` and the bare name are aliases of
``*_hard``. A request starts from the current limits and applies, in order,
the byte fields (converted to blocks, rounded up), then the block fields
(which therefore win over bytes), then the inode fields; within a group the
later field wins (``*_limit``, bare name, ``*_soft``, ``*_hard``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from warden.protocol import LimitDiskRequest, LimitDiskResponse

__all__ = ["BLOCK_SIZE", "DiskLimits", "fill_response", "requested_limits"]

#: Bytes per quota block, fixed by the kernel (not the file system's block size).
BLOCK_SIZE = 1024


@dataclass(frozen=True)
class DiskLimits:
    """A container's disk limits in 1 KiB blocks and inodes; 0 is no limit."""

    block_soft: int = 0
    block_hard: int = 0
    inode_soft: int = 0
    inode_hard: int = 0

    @property
    def byte_hard(self) -> int:
        """The hard block limit in bytes."""
        return self.block_hard * BLOCK_SIZE


def _blocks(byte_count: int) -> int:
    return (byte_count + BLOCK_SIZE - 1) // BLOCK_SIZE


def requested_limits(current: DiskLimits, request: LimitDiskRequest) -> DiskLimits:
    """The limits after ``request``, starting from ``current``."""
    limits = current
    for field in ("byte_limit", "byte", "byte_soft", "byte_hard"):
        if request.HasField(field):
            target = "block_soft" if field == "byte_soft" else "block_hard"
            limits = replace(limits, **{target: _blocks(getattr(request, field))})
    for field in ("block_limit", "block", "block_soft", "block_hard"):
        if request.HasField(field):
            target = "block_soft" if field == "block_soft" else "block_hard"
            limits = replace(limits, **{target: getattr(request, field)})
    for field in ("inode_limit", "inode", "inode_soft", "inode_hard"):
        if request.HasField(field):
            target = "inode_soft" if field == "inode_soft" else "inode_hard"
            limits = replace(limits, **{target: getattr(request, field)})
    return limits


def fill_response(limits: DiskLimits, response: LimitDiskResponse) -> None:
    """All twelve fields: aliases repeat the hard limit, bytes are blocks times 1 KiB."""
    response.byte_limit = response.byte = response.byte_hard = limits.block_hard * BLOCK_SIZE
    response.byte_soft = limits.block_soft * BLOCK_SIZE
    response.block_limit = response.block = response.block_hard = limits.block_hard
    response.block_soft = limits.block_soft
    response.inode_limit = response.inode = response.inode_hard = limits.inode_hard
    response.inode_soft = limits.inode_soft
