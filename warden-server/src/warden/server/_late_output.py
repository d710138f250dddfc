# -*- test-case-name: tests.test_late_output,tests_abuse.test_abuse -*-
"""Output written to a job's files after the job ended: it goes nowhere.

The original read a job's output through pipes that it closed once the job
had ended, so a process the job left behind got SIGPIPE (or EPIPE) at its
next write, and nothing it wrote was kept. Here a job writes to files, and a
process that inherited them could go on filling them, without bound and
unseen, on the host's disk (even after the files are deleted, while it holds
them open). So the server watches a finished job's output files, and when
one grows, it signals the processes that have it open for writing: SIGPIPE
first, as a closed pipe would, then SIGKILL if they write again (a process
that ignores SIGPIPE would otherwise write on). Processes that keep quiet are
left alone.

Finding the writers takes one scan of ``/proc/*/fd`` (a few milliseconds),
done only when a finished job's output grows.
"""

from __future__ import annotations

import contextlib
import os
import signal

from twisted.logger import Logger

__all__ = ["Identity", "LateWriters", "file_identity", "writers_of"]

_log = Logger(namespace="warden.server.jobs")

#: (st_dev, st_ino, real path) of a file: what an open descriptor is matched
#: by. The path matters: once the last writer of a deleted file is gone, its
#: inode number is free and another job's new file may get it at once, while
#: events about the old file are still queued.
Identity = tuple[int, int, str]


def file_identity(path: str) -> Identity | None:
    """The identity of the file at ``path`` (None if there is none)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, os.path.realpath(path)


def _names(link: str, path: str) -> bool:
    # A descriptor's link is the file's path, with " (deleted)" once it is unlinked.
    return link in (path, f"{path} (deleted)")


def _writable(pid: str, fd: str) -> bool:
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}") as info:
            for line in info:
                if line.startswith("flags:"):
                    return int(line.split()[1], 8) & os.O_ACCMODE != os.O_RDONLY
    except (OSError, ValueError, IndexError):
        pass
    return False


def writers_of(identity: Identity) -> list[int]:
    """Processes (but this one) that have the file open for writing."""
    dev, ino, path = identity
    own = os.getpid()
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == own:
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            link = f"/proc/{pid}/fd/{fd}"
            try:
                stat = os.stat(link)
                if (stat.st_dev, stat.st_ino) != (dev, ino) or not _names(os.readlink(link), path):
                    continue
            except OSError:
                continue
            if _writable(pid, fd):
                found.append(int(pid))
                break
    return found


class LateWriters:
    """Stops the processes that write to one finished job's output."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self._signalled: set[int] = set()

    def stop(self, identity: Identity) -> None:
        """SIGPIPE to each writer of the file, SIGKILL to one signalled before."""
        for pid in writers_of(identity):
            again = pid in self._signalled
            self._signalled.add(pid)
            _log.info(
                "job {job_id}: process {pid} writes after the job ended, sending {sig}",
                job_id=self.job_id,
                pid=pid,
                sig="SIGKILL" if again else "SIGPIPE",
            )
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL if again else signal.SIGPIPE)
