# -*- test-case-name: tests.test_snapshot -*-
"""A container's snapshot: ``<container_path>/snapshot.json``.

Written atomically (a temporary file in ``<container_path>/tmp``, then a
rename), so a reader sees either the old or the new snapshot, never a torn
one. The temporary file has a fixed name: the server writes one container's
snapshot at a time (one thread), and a leftover of a crash is simply
overwritten. The moments it is written and deleted are the container base's
business.
"""

from __future__ import annotations

import contextlib
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
