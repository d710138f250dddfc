# -*- test-case-name: tests.test_snapshot -*-
"""A container's snapshot: ``<container_path>/snapshot.json``.

Written atomically (a temporary file in ``<container_path>/tmp``, then a
rename), so a reader sees either the old or the new snapshot, never a torn
one. The temporary file has a fixed name: the server writes one container's
snapshot at a time (one thread), and a leftover of a crash is simply
overwritten. The moments it is written and deleted are the container base's
business.

The new file takes the place of the old one by exchanging the two names
(``renameat2(RENAME_EXCHANGE)``), then the old one, now under the temporary
name, is unlinked. A plain rename over the old file would do the same for a
reader, but ext4 (``auto_da_alloc``) starts the new file's writeback on a
rename that replaces a file, and the server waited for it: about 2 ms of the
reactor (0.1 ms of CPU) at every job's end on a busy disk. What the snapshot
guards against is a crash of the server, after which the page cache is
still there; a crash of the host ends the containers too, so a snapshot
that only reaches the disk later loses nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
from typing import Any

__all__ = [
    "SNAPSHOT_NAME",
    "SnapshotError",
    "delete_snapshot",
    "read_snapshot",
    "snapshot_path",
    "write_snapshot",
]

SNAPSHOT_NAME = "snapshot.json"

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_renameat2: Any = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)


def _exchange(tmp: str, path: str) -> bool:
    """Swap the files at ``tmp`` and ``path``; False when that cannot be done
    (no file at ``path``, a file system or C library without the call)."""
    if _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(tmp), _AT_FDCWD, os.fsencode(path), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOENT, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(error, os.strerror(error), tmp, None, path)


class SnapshotError(Exception):
    """A snapshot that cannot be read or is not a JSON object."""


def snapshot_path(container_path: str) -> str:
    """Where the snapshot of the container at ``container_path`` lives."""
    return os.path.join(container_path, SNAPSHOT_NAME)


def write_snapshot(container_path: str, data: dict[str, Any]) -> None:
    """Replace the snapshot atomically."""
    tmp_dir = os.path.join(container_path, "tmp")
    tmp = os.path.join(tmp_dir, f"{SNAPSHOT_NAME}.tmp")
    text = json.dumps(data, sort_keys=True)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        os.mkdir(tmp_dir)  # never re-creates a removed container directory
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        if _exchange(tmp, snapshot_path(container_path)):
            with contextlib.suppress(OSError):  # a leftover is overwritten next time
                os.unlink(tmp)  # the old snapshot
        else:
            os.replace(tmp, snapshot_path(container_path))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_snapshot(container_path: str) -> dict[str, Any] | None:
    """The snapshot as a dict, None when there is none; SnapshotError when corrupt."""
    try:
        with open(snapshot_path(container_path)) as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise SnapshotError(f"cannot read {snapshot_path(container_path)}: {error}") from error
    if not isinstance(data, dict):
        raise SnapshotError(f"{snapshot_path(container_path)} is not a JSON object")
    return data


def delete_snapshot(container_path: str) -> None:
    """Remove the snapshot if there is one."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(snapshot_path(container_path))
