# -*- test-case-name: tests.test_watch -*-
"""Kernel notifications on the reactor: inotify for files, pidfd for process exit.

Jobs write their output to files and the server follows them without polling.

``DirectoryWatcher`` is one inotify descriptor for the whole server. It is
ours rather than ``twisted.internet.inotify.INotify`` because that class
always asks for ``IN_DELETE_SELF`` and, when a watched directory is removed,
closes the whole notifier (every other watch with it); it also drops queue
overflows silently. Here a removed directory only ends its own watch, and an
overflow is passed to every watcher so that each can look at its files again.
One descriptor per server also matters: the kernel allows only 128 inotify
instances per user by default.

``ProcessExitWatcher`` turns a pidfd (``os.pidfd_open``) into a callback when
the process ends, whether or not the server is its parent (after a restart it
is not).
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from collections.abc import Callable
from typing import Any

from twisted.logger import Logger
from twisted.python.failure import Failure

__all__ = [
    "IN_CLOSE_WRITE",
    "IN_CREATE",
    "IN_IGNORED",
    "IN_MODIFY",
    "IN_MOVED_TO",
    "IN_Q_OVERFLOW",
    "DirectoryWatcher",
    "ProcessExitWatcher",
    "process_start_time",
]

IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000

_EVENT = struct.Struct("iIII")
_log = Logger(namespace="warden.server.watch")
_libc: Any = None


def _c() -> Any:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    return _libc


#: Called with the entry name (None for the directory itself or an overflow) and the mask.
WatchCallback = Callable[[str | None, int], None]


class DirectoryWatcher:
    """Watches directories with one inotify descriptor (an IReadDescriptor)."""

    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor
        self._fd: int = _c().inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"inotify_init1: {os.strerror(code)}")
        self._callbacks: dict[int, WatchCallback] = {}
        reactor.addReader(self)

    def watch(self, path: str, mask: int, callback: WatchCallback) -> int:
        """Watch ``path`` (a directory) for ``mask``; returns the watch descriptor."""
        wd: int = _c().inotify_add_watch(self._fd, os.fsencode(path), mask)
        if wd < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"inotify_add_watch {path}: {os.strerror(code)}")
        self._callbacks[wd] = callback
        return wd

    def unwatch(self, wd: int) -> None:
        """Stop a watch; a watch already gone (directory removed) is fine."""
        if self._callbacks.pop(wd, None) is not None:
            _c().inotify_rm_watch(self._fd, wd)

    def close(self) -> None:
        """Stop every watch and release the descriptor."""
        if self._fd >= 0:
            self._reactor.removeReader(self)
            os.close(self._fd)
            self._fd = -1
            self._callbacks.clear()

    # IReadDescriptor

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "DirectoryWatcher"

    def connectionLost(self, reason: Failure) -> None:
        self.close()

    def doRead(self) -> None:
        while self._fd >= 0:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return
            except OSError as problem:
                if problem.errno == errno.EINTR:
                    continue
                raise
            self._dispatch(data)

    def _dispatch(self, data: bytes) -> None:
        offset = 0
        while offset + _EVENT.size <= len(data):
            wd, mask, _cookie, size = _EVENT.unpack_from(data, offset)
            raw = data[offset + _EVENT.size : offset + _EVENT.size + size]
            offset += _EVENT.size + size
            name = os.fsdecode(raw.rstrip(b"\0")) or None
            if mask & IN_Q_OVERFLOW:
                _log.warn("inotify queue overflowed: rescanning every watched directory")
                for each in list(self._callbacks.values()):
                    self._call(each, None, IN_Q_OVERFLOW)
                continue
            callback: WatchCallback | None
            if mask & IN_IGNORED:
                # The directory is gone (or the watch was removed).
                callback = self._callbacks.pop(wd, None)
            else:
                callback = self._callbacks.get(wd)
            if callback is not None:
                self._call(callback, name, mask)

    @staticmethod
    def _call(callback: WatchCallback, name: str | None, mask: int) -> None:
        try:
            callback(name, mask)
        except Exception:
            _log.failure("inotify callback failed")


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` (clock ticks after boot), None if there is no such process.

    Recorded with a pid so that a later check is not fooled by pid reuse.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


class ProcessExitWatcher:
    """(An IReadDescriptor.) Calls ``callback`` once when process ``pid`` ends.

    If ``start_time`` is given and the process with that pid started at
    another time, it is not the process we mean: ours has ended.
    """

    # One per live container (its init): no instance dict.
    __slots__ = ("_callback", "_fd", "_reactor")

    def __init__(
        self,
        reactor: Any,
        pid: int,
        callback: Callable[[], None],
        start_time: int | None = None,
    ) -> None:
        self._reactor = reactor
        self._callback: Callable[[], None] | None = callback
        self._fd = -1
        try:
            if pid <= 0:
                raise ProcessLookupError(pid)
            self._fd = os.pidfd_open(pid)
        except ProcessLookupError:
            reactor.callLater(0, self._fire)
            return
        # Check after opening: from now on the pidfd pins this very process.
        if start_time is not None and process_start_time(pid) != start_time:
            os.close(self._fd)
            self._fd = -1
            reactor.callLater(0, self._fire)
            return
        reactor.addReader(self)

    def cancel(self) -> None:
        """Forget the process without calling back."""
        self._callback = None
        self._close()

    def _close(self) -> None:
        if self._fd >= 0:
            self._reactor.removeReader(self)
            os.close(self._fd)
            self._fd = -1

    def _fire(self) -> None:
        self._close()
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()

    # IReadDescriptor

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "ProcessExitWatcher"

    def connectionLost(self, reason: Failure) -> None:
        # The reactor is shutting down: the process has not ended.
        self._callback = None
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def doRead(self) -> None:
        self._fire()
