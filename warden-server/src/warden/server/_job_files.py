# -*- test-case-name: tests.test_job_output,tests.test_requests -*-
"""The files of one job's directory, as the server writes and reads them.

``<container_path>/jobs/<job_id>/`` holds::

    script           written by the server (0600) before the job starts
    pid              the job's process-group leader, which the server signals
    stdout, stderr   the job's output, written by its keeper (absent when
                     the output is discarded)
    output_exceeded  created by the keeper when the job printed too much
    exit_status      decimal status and a newline, when the job has ended

Every file but ``script`` is written on the host by the job's keeper
(``root-scripts/linux/src/warden-keeper``) or by ``warden-exec`` before the
job runs; the job itself holds none of them. They are still opened with
``O_NONBLOCK``, so that no open on the reactor thread can wait on a lease.
"""

from __future__ import annotations

import os
import shutil

__all__ = ["EXIT_STATUS", "OUTPUT_EXCEEDED_FLAG", "PID", "SCRIPT", "STREAMS", "JobFiles"]

SCRIPT = "script"
PID = "pid"
EXIT_STATUS = "exit_status"
OUTPUT_EXCEEDED_FLAG = "output_exceeded"
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
    def create(cls, path: str, script: str) -> JobFiles:
        """Make the directory ``path`` (0700) with the job's script in it."""
        os.makedirs(path, mode=0o700)
        try:
            fd = os.open(os.path.join(path, SCRIPT), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:  # os.write, not a file object: one system call, not five
                data = memoryview(script.encode())
                while data:
                    data = data[os.write(fd, data) :]
            finally:
                os.close(fd)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)  # a full disk, say
            raise
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
        shutil.rmtree(self.path, ignore_errors=True)
