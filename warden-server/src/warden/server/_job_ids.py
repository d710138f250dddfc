# -*- test-case-name: tests.test_job_ids -*-
"""Job ids: increasing, persisted in the depot, never reused across restarts."""

from __future__ import annotations

import os

__all__ = ["JobIdCounter"]


class JobIdCounter:
    """Job ids: increasing, persisted in the depot, never reused across restarts.

    The file holds the highest id reserved so far, ahead of the ids handed
    out by ``RESERVE``: the file is written once per ``RESERVE`` jobs, not on
    every Spawn. After a restart ids continue above the reservation (the
    unused rest of it is skipped, never reused).
    """

    #: Ids reserved with each write of the file.
    RESERVE = 100

    def __init__(self, path: str) -> None:
        self.path = path
        self._last = 0
        try:
            with open(path) as handle:
                self._last = int(handle.read().strip() or 0)
        except (OSError, ValueError):
            self._last = 0
        self._reserved = self._last

    @property
    def last(self) -> int:
        """The most recent id handed out (0 before the first)."""
        return self._last

    def ensure_above(self, job_id: int) -> None:
        """Never hand out ``job_id`` or anything below it."""
        if job_id > self._last:
            self._last = job_id
            if self._last > self._reserved:
                self._save(self._last)

    def next(self) -> int:
        """A new job id, within the saved reservation before it is returned."""
        self._last += 1
        if self._last > self._reserved:
            self._save(self._last + self.RESERVE - 1)
        return self._last

    def _save(self, reserved: int) -> None:
        tmp = f"{self.path}.tmp"
        with open(tmp, "w") as handle:
            handle.write(f"{reserved}\n")
        os.replace(tmp, self.path)
        self._reserved = reserved
