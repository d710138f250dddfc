# -*- test-case-name: tests.test_job_output,tests.test_requests -*-
"""The files of one job's directory, as the server writes and reads them.

``<container_path>/jobs/<job_id>/`` (and ``jobs/.next``, the next one's:
the last forgotten job's, emptied, ``recycle_job_dir``) holds::

    pid              the job's process-group leader, which the server signals
    stdout, stderr   the job's output, written by its keeper (absent when
                     the output is discarded)
    output_exceeded  created by the keeper when the job printed too much
    exit_status      decimal status and a newline, when the job has ended

Every file is written on the host by the job's keeper
(``root-scripts/linux/src/warden-keeper``) or by ``warden-exec`` before the
job runs; the job itself holds none of them. They are still opened with
``O_NONBLOCK``, so that no open on the reactor thread can wait on a lease.

The job's script is no file: the keeper's stdin is an in-memory file
(``script_fd``) that it copies and seals for the job. Each file made in the
depot costs an inode allocation, which on a busy ext4 takes from 10 us to
half a millisecond, on the way to every job's start.
"""

from __future__ import annotations

import contextlib
import os
import shutil

__all__ = [
    "EXIT_STATUS",
    "OUTPUT_EXCEEDED_FLAG",
    "PID",
    "SPARE",
    "STREAMS",
    "JobFiles",
    "empty_job_dir",
    "recycle_job_dir",
    "remove_job_dir",
    "script_fd",
]

PID = "pid"
EXIT_STATUS = "exit_status"
OUTPUT_EXCEEDED_FLAG = "output_exceeded"
#: The next job's directory, a forgotten one's emptied (``recycle_job_dir``).
SPARE = ".next"
#: Output streams in the order Stream sends them.
STREAMS = ("stdout", "stderr")

_READ_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOFOLLOW


class JobFiles:
    """Reads the files of the job directory ``path`` (descriptors of the
    output files are kept open until ``close``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fds: dict[str, int] = {}

    @classmethod
    def create(cls, path: str) -> JobFiles:
        """Make the directory ``path`` (0700; its parent exists): the spare
        one (``recycle_job_dir``) renamed, else a new one."""
        if not os.path.lexists(path):  # a rename would replace an empty one
            try:
                os.rename(os.path.join(os.path.dirname(path), SPARE), path)
                return cls(path)
            except OSError:
                pass  # none made yet, or taken
        os.mkdir(path, mode=0o700)
        return cls(path)

    def file(self, name: str) -> str:
        """Path of one of the job's files."""
        return os.path.join(self.path, name)

    def exists(self, name: str) -> bool:
        """Whether the file ``name`` exists."""
        return os.path.lexists(self.file(name))

    def read_int(self, name: str) -> int | None:
        """The decimal number in a small file (None when absent or not a number)."""
        try:
            fd = os.open(self.file(name), _READ_FLAGS)
        except OSError:
            return None
        try:
            return int(os.read(fd, 64).strip())
        except (OSError, ValueError):
            return None
        finally:
            os.close(fd)

    def size(self, name: str) -> int:
        """Size of a file (0 when it does not exist)."""
        try:
            return os.stat(self.file(name), follow_symlinks=False).st_size
        except OSError:
            return 0

    def read(self, name: str, offset: int, size: int) -> bytes:
        """Bytes of an output file (empty when it does not exist or cannot be
        read now: it is tried again at the next change)."""
        fd = self._fds.get(name)
        try:
            if fd is None:
                fd = self._fds[name] = os.open(self.file(name), _READ_FLAGS)
            return os.pread(fd, size, offset)
        except OSError:
            return b""

    def close(self) -> None:
        """Release the descriptors (the files stay)."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def remove(self) -> None:
        """Close and delete the directory."""
        self.close()
        remove_job_dir(self.path)


def empty_job_dir(path: str) -> bool:
    """Unlink a job directory's entries (plain files) by name; whether the
    directory is there and empty now. Anything else in it (a directory)
    has it deleted whole instead (``remove_job_dir``)."""
    try:
        names = os.listdir(path)
    except OSError:
        return False
    try:
        for name in names:
            os.unlink(os.path.join(path, name))
    except OSError:
        shutil.rmtree(path, ignore_errors=True)
        return False
    return True


def recycle_job_dir(path: str) -> None:
    """An emptied job directory becomes the spare (``SPARE``) of its jobs
    directory, the next job's, when there is none; else it goes.

    A job directory renamed into place allocates no inode, and one renamed
    away frees none: a ``mkdir`` and an ``rmdir`` (each up to a millisecond
    on a busy ext4, holding the jobs directory's lock, which the next job's
    start then waits for) become two renames.
    """
    spare = os.path.join(os.path.dirname(path), SPARE)
    with contextlib.suppress(OSError):
        if os.path.lexists(spare):  # a rename would replace it
            os.rmdir(path)
        else:
            os.rename(path, spare)


def script_fd(script: str) -> int:
    """An in-memory file (close-on-exec) holding ``script``, at offset 0:
    the keeper's stdin. The caller closes it."""
    fd = os.memfd_create("script", os.MFD_CLOEXEC)
    try:
        data = memoryview(script.encode())
        while data:
            data = data[os.write(fd, data) :]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def remove_job_dir(path: str) -> None:
    """Delete a job's directory (nothing when it is gone).

    Its entries are plain files: each is unlinked by name, then the
    directory goes; ``shutil.rmtree``'s walk (a descriptor per directory,
    a stat per entry) only for anything else found there.
    """
    try:
        names = os.listdir(path)
    except OSError:
        return
    try:
        for name in names:
            os.unlink(os.path.join(path, name))
        os.rmdir(path)
    except OSError:
        shutil.rmtree(path, ignore_errors=True)
