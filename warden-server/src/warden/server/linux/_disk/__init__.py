"""Disk limits (LimitDisk) and usage (Info's disk_stat), with or without kernel quotas.

Backends, chosen by ``server.disk_limit_backend``:

- ``loop``: a size-limited writable layer per container (``LoopDisk``),
  limited by a ballast, or by an ext4 project quota where the kernel has them
  (``detect_project_quota`` at server start);
- ``quota``: user quotas of the container's uid on the depot's file system
  (``QuotaDisk``), as the original;
- ``none``: no disk limits (also what ``quota.disk_quota_enabled: false`` gives).
"""

from ._backend import CommandResult, DiskBackend, DiskLimitError, DiskUsage, NoDiskLimit, RunCommand
from ._ext4 import Ext4Counts, read_ext4_counts
from ._loop import LoopDisk, LoopDiskPaths, parse_values
from ._probe import detect_project_quota, project_quota_supported
from ._quota import KernelQuota, Quotactl, QuotaDisk, QuotaRecord, mount_source
from ._request import BLOCK_SIZE, DiskLimits, fill_response, requested_limits

__all__ = [
    "parse_values",
    "DiskBackend",
    "LoopDisk",
    "LoopDiskPaths",
    "QuotaDisk",
    "NoDiskLimit",
    "DiskLimits",
    "DiskUsage",
    "DiskLimitError",
    "BLOCK_SIZE",
    "requested_limits",
    "fill_response",
    "CommandResult",
    "RunCommand",
    "Quotactl",
    "QuotaRecord",
    "KernelQuota",
    "mount_source",
    "Ext4Counts",
    "read_ext4_counts",
    "detect_project_quota",
    "project_quota_supported",
]
