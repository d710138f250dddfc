"""The kernel notifications jobs rely on: inotify on directories, pidfd on processes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from conftest import in_reactor, reactor
from twisted.internet import defer

from warden.server._watch import (
    IN_CLOSE_WRITE,
    IN_MODIFY,
    DirectoryWatcher,
    ProcessExitWatcher,
    process_start_time,
)


def test_a_removed_directory_ends_only_its_own_watch(tmp_path: Path, reactor_thread: Any) -> None:
    gone, kept = tmp_path / "gone", tmp_path / "kept"
    gone.mkdir()
    kept.mkdir()
    events: list[tuple[str, str | None]] = []
    seen: defer.Deferred[None] = defer.Deferred()

    def setup() -> DirectoryWatcher:
        watcher = DirectoryWatcher(reactor)
        mask = IN_MODIFY | IN_CLOSE_WRITE
        watcher.watch(str(gone), mask, lambda name, m: events.append(("gone", name)))

        def on_kept(name: str | None, m: int) -> None:
            events.append(("kept", name))
            if name == "file" and not seen.called:
                seen.callback(None)

        watcher.watch(str(kept), mask, on_kept)
        return watcher

    watcher = in_reactor(setup)
    shutil.rmtree(gone)
    (kept / "file").write_text("x")
    in_reactor(lambda: seen)
    assert ("kept", "file") in events
    in_reactor(watcher.close)


def test_process_exit_watcher(reactor_thread: Any) -> None:
    child = subprocess.Popen(["sleep", "1000"])
    start = process_start_time(child.pid)
    assert start is not None
    ended: defer.Deferred[None] = defer.Deferred()
    in_reactor(lambda: ProcessExitWatcher(reactor, child.pid, lambda: ended.callback(None), start))
    child.kill()
    in_reactor(lambda: ended)
    child.wait()
    # A pid whose start time does not match is not the process we mean: ended.
    other = subprocess.Popen(["sleep", "1000"])
    try:
        wrong: defer.Deferred[None] = defer.Deferred()
        in_reactor(lambda: ProcessExitWatcher(reactor, other.pid, lambda: wrong.callback(None), -1))
        in_reactor(lambda: wrong)
    finally:
        other.kill()
        other.wait()
    assert process_start_time(os.getpid()) is not None
    assert process_start_time(2**22 + 12345) is None
