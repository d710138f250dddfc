"""Job ids: increasing, never reused across restarts, the file written once per reservation."""

from __future__ import annotations

from pathlib import Path

from warden.server._job_ids import JobIdCounter


def test_ids_increase_and_survive_a_restart_without_reuse(tmp_path: Path) -> None:
    path = tmp_path / ".job-id"
    counter = JobIdCounter(str(path))
    first = [counter.next() for _ in range(5)]
    assert first == [1, 2, 3, 4, 5]
    written = path.stat().st_mtime_ns, path.read_text()
    assert int(written[1]) >= 5
    for _ in range(JobIdCounter.RESERVE - 10):
        counter.next()
    # Within the reservation, Spawn writes nothing.
    assert (path.stat().st_mtime_ns, path.read_text()) == written
    handed_out = counter.last
    # A restart (a new counter from the file) never hands out an id again.
    again = JobIdCounter(str(path))
    assert again.next() > handed_out
    # Past the reservation, the next one is saved before it is handed out.
    while counter.last < int(path.read_text()):
        counter.next()
    beyond = counter.next()
    assert int(path.read_text()) >= beyond


def test_ensure_above(tmp_path: Path) -> None:
    path = tmp_path / ".job-id"
    counter = JobIdCounter(str(path))
    counter.ensure_above(1000)  # recovery found job 1000
    assert counter.next() == 1001
    assert JobIdCounter(str(path)).next() > 1001
    counter.ensure_above(10)  # lower: nothing changes
    assert counter.next() == 1002
