"""Out-of-memory notification, driven by the reactor (no polling, no helper process).

- cgroup v1: an eventfd registered against the cgroup's ``memory.oom_control``
  through ``cgroup.event_control``. The kernel signals it when the OOM killer
  acts in the cgroup, and also when the cgroup is removed; as the original's
  ``oom`` helper did, a signal while ``cgroup.event_control`` still exists is an
  OOM, otherwise the cgroup is gone and watching ends.
- cgroup v2: inotify on the cgroup's ``memory.events``, which the kernel marks
  modified whenever one of its counters changes; an increase of ``oom`` or
  ``oom_kill`` is an OOM.

Either way ``on_oom`` runs in the reactor thread, once per signal. A failing
callback is logged and does not stop the watch.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from twisted.logger import Logger
from twisted.python.failure import Failure

from ._files import read_keyed, write_value

__all__ = ["EventfdOomWatch", "FileWatcher", "MemoryEventsOomWatch"]

IN_MODIFY = 0x00000002
IN_IGNORED = 0x00008000

_log = Logger()


def _notify(on_oom: Callable[[], None], where: Path) -> None:
    try:
        on_oom()
    except Exception:
        _log.failure("out-of-memory callback failed for {where}", where=str(where))


class EventfdOomWatch:
    """cgroup v1 OOM notification: an eventfd the reactor reads (an ``IReadDescriptor``)."""

    @classmethod
    def start(cls, reactor: Any, memory_dir: Path, on_oom: Callable[[], None]) -> EventfdOomWatch:
        """Register an eventfd for ``memory_dir``'s OOM events and start reading it."""
        efd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
        try:
            control = os.open(memory_dir / "memory.oom_control", os.O_RDONLY | os.O_CLOEXEC)
            try:
                # The kernel keeps its own reference to the control file.
                write_value(memory_dir / "cgroup.event_control", f"{efd} {control}")
            finally:
                os.close(control)
        except BaseException:
            os.close(efd)
            raise
        watch = cls(reactor, memory_dir, efd, on_oom)
        reactor.addReader(watch)
        return watch

    def __init__(
        self, reactor: Any, memory_dir: Path, efd: int, on_oom: Callable[[], None]
    ) -> None:
        self._reactor = reactor
        self._memory_dir = memory_dir
        self._efd = efd
        self._on_oom = on_oom

    @property
    def active(self) -> bool:
        return self._efd >= 0

    def stop(self) -> None:
        if self._efd < 0:
            return
        self._reactor.removeReader(self)
        os.close(self._efd)
        self._efd = -1

    # IReadDescriptor

    def fileno(self) -> int:
        return self._efd

    def doRead(self) -> None:
        try:
            os.eventfd_read(self._efd)
        except BlockingIOError:
            return
        if not (self._memory_dir / "cgroup.event_control").exists():
            self.stop()  # the cgroup was removed: that signals too
            return
        _notify(self._on_oom, self._memory_dir)

    def connectionLost(self, reason: Failure) -> None:
        self.stop()

    def logPrefix(self) -> str:
        return "oom-watch"


class FileWatcher(Protocol):
    """The server's shared inotify descriptor (``_watch.DirectoryWatcher``)."""

    def watch(self, path: str, mask: int, callback: Callable[[str | None, int], None]) -> int:
        """Watch ``path`` for ``mask``; returns the watch descriptor."""
        ...

    def unwatch(self, wd: int) -> None:
        """Stop a watch (one already gone is fine)."""
        ...


class MemoryEventsOomWatch:
    """cgroup v2 OOM notification: inotify on ``memory.events``."""

    @classmethod
    def start(
        cls, files: FileWatcher, events_file: Path, on_oom: Callable[[], None]
    ) -> MemoryEventsOomWatch:
        """Watch ``events_file`` for increases of its ``oom``/``oom_kill`` counters."""
        watch = cls(files, events_file, on_oom)
        watch._wd = files.watch(str(events_file), IN_MODIFY, watch._changed)
        return watch

    def __init__(self, files: FileWatcher, events_file: Path, on_oom: Callable[[], None]) -> None:
        self._files = files
        self._wd: int | None = None
        self._events_file = events_file
        self._on_oom = on_oom
        self._seen = self._counts()

    @property
    def active(self) -> bool:
        return self._wd is not None

    def stop(self) -> None:
        wd, self._wd = self._wd, None
        if wd is not None:
            self._files.unwatch(wd)

    def _counts(self) -> tuple[int, int]:
        events = read_keyed(self._events_file)
        return events.get("oom", 0), events.get("oom_kill", 0)

    def _changed(self, _name: str | None, mask: int) -> None:
        if self._wd is None:
            return
        if mask & IN_IGNORED:
            self._wd = None  # the cgroup was removed; the watch is already gone
            return
        try:
            counts = self._counts()
        except OSError:
            self.stop()  # the cgroup is being removed
            return
        seen, self._seen = self._seen, counts
        if counts[0] > seen[0] or counts[1] > seen[1]:
            _notify(self._on_oom, self._events_file)
