# -*- test-case-name: tests.test_spawn -*-
"""Starting a process and following it on the reactor, at the least cost.

``spawn`` is ``os.posix_spawn`` (vfork and exec: about a third of what
Twisted's ``spawnProcess`` costs) with what a clean child needs: every signal
at its default (Python ignores SIGPIPE and SIGXFSZ, and ignored signals
survive exec), an empty signal mask, stdin, stdout and stderr as given, and
no other descriptor: Python opens its own close-on-exec, and any the server
inherited without that flag is closed in the child explicitly.

``PipeReader`` and ``PipeWriter`` move a child's output and input through the
reactor; ``ChildExit`` learns of the child's end through a pidfd, reaps it and
reports its status (128+N when signal N ended it).
"""

from __future__ import annotations

import fcntl
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from twisted.python.failure import Failure

from ._watch import ProcessExitWatcher

__all__ = ["ChildExit", "PipeReader", "PipeWriter", "spawn"]

#: Signals a child starts with at their defaults. KILL and STOP cannot change.
_DEFAULT_SIGNALS = frozenset(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}
_CHUNK = 65536


def _inheritable_descriptors() -> list[int]:
    """Descriptors above 2 that an exec would pass on (not close-on-exec)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            try:
                if not fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC:
                    found.append(fd)
            except OSError:  # the listing's own descriptor, closed by now
                pass
    return found


def spawn(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    stdin: int | None,
    stdout: int,
    stderr: int,
    setsid: bool = False,
) -> int:
    """Start ``argv`` (its first word a path, or a name looked up in PATH); its pid.

    ``stdin`` is a descriptor for the child's stdin (None: /dev/null);
    ``stdout`` and ``stderr`` are descriptors for its output. With ``setsid``
    the child leads a session of its own. Raises OSError when it cannot start.
    """
    actions: list[tuple[Any, ...]] = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)
        if stdin is None
        else (os.POSIX_SPAWN_DUP2, stdin, 0),
        (os.POSIX_SPAWN_DUP2, stdout, 1),
        (os.POSIX_SPAWN_DUP2, stderr, 2),
    ]
    actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_descriptors()]
    start = os.posix_spawn if "/" in argv[0] else os.posix_spawnp
    return start(
        argv[0],
        list(argv),
        env,
        file_actions=actions,
        setsid=setsid,
        setsigmask=(),
        setsigdef=_DEFAULT_SIGNALS,
    )


class PipeReader:
    """(An IReadDescriptor.) Reads a pipe until EOF: ``on_data(bytes)``, then ``on_eof()``."""

    def __init__(self, reactor: Any, fd: int, on_data: Callable[[bytes], None],
                 on_eof: Callable[[], None]) -> None:  # fmt: skip
        self._reactor = reactor
        self._fd = fd
        self._on_data = on_data
        self._on_eof: Callable[[], None] | None = on_eof
        os.set_blocking(fd, False)
        reactor.addReader(self)

    def drain(self) -> None:
        """Read what the pipe holds now."""
        while self._fd >= 0:
            try:
                chunk = os.read(self._fd, _CHUNK)
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self._close()
                return
            self._on_data(chunk)

    def _close(self) -> None:
        if self._fd >= 0:
            self._reactor.removeReader(self)
            os.close(self._fd)
            self._fd = -1
        on_eof, self._on_eof = self._on_eof, None
        if on_eof is not None:
            on_eof()

    # IReadDescriptor

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "PipeReader"

    def doRead(self) -> None:
        self.drain()

    def connectionLost(self, reason: Failure) -> None:
        self._close()


class PipeWriter:
    """(An IWriteDescriptor.) Writes ``data`` into a pipe, then closes it."""

    def __init__(self, reactor: Any, fd: int, data: bytes) -> None:
        self._reactor = reactor
        self._fd = fd
        self._data = memoryview(data)
        os.set_blocking(fd, False)
        self.doWrite()
        if self._fd >= 0:
            reactor.addWriter(self)

    def _close(self) -> None:
        if self._fd >= 0:
            self._reactor.removeWriter(self)
            os.close(self._fd)
            self._fd = -1

    # IWriteDescriptor

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "PipeWriter"

    def doWrite(self) -> None:
        while self._fd >= 0 and self._data:
            try:
                written = os.write(self._fd, self._data[:_CHUNK])
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            except OSError:  # the child closed its end: it wants no more
                break
            self._data = self._data[written:]
        self._close()

    def connectionLost(self, reason: Failure) -> None:
        self._close()


class ChildExit:
    """Calls ``on_exit(status)`` once the child ``pid`` ends, after reaping it.

    The status is the exit status, or 128+N when signal N ended it.
    """

    def __init__(self, reactor: Any, pid: int, on_exit: Callable[[int], None]) -> None:
        self._reactor = reactor
        self.pid = pid
        self._on_exit = on_exit
        self._watcher = ProcessExitWatcher(reactor, pid, self._exited)

    def _exited(self) -> None:
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == 0:  # not a zombie yet: the pidfd was quicker
                self._reactor.callLater(0.001, self._exited)
                return
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:  # reaped by someone else: its status is lost
            code = -signal.SIGKILL
        self._on_exit(128 - code if code < 0 else code)
