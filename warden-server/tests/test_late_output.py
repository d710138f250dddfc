"""Finding the writers of a finished job's output (the end-to-end cases are in
tests_abuse/test_abuse.py and tests/test_restart.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from warden.server._late_output import file_identity, writers_of


@pytest.fixture
def writers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started by the test, each holding a file open for appending."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def hold(path: Path, started: list[subprocess.Popen[bytes]]) -> int:
    with path.open("ab") as output:
        process = subprocess.Popen(["sleep", "60"], stdout=output)
    started.append(process)
    return process.pid


def test_writers_are_found_before_and_after_the_file_is_deleted(
    tmp_path: Path, writers: list[subprocess.Popen[bytes]]
) -> None:
    stdout = tmp_path / "stdout"
    pid = hold(stdout, writers)
    identity = file_identity(str(stdout))
    assert identity is not None
    assert writers_of(identity) == [pid]
    stdout.unlink()
    assert writers_of(identity) == [pid]


def test_a_reused_inode_number_is_another_file(
    tmp_path: Path, writers: list[subprocess.Popen[bytes]]
) -> None:
    """Once a deleted output file's last writer is gone, the file system may
    give its inode number to a new file (another job's output) at once:
    events about the old file still queued must not stop the new file's
    writers."""
    old = tmp_path / "old-stdout"
    old.touch()
    identity = file_identity(str(old))
    assert identity is not None
    old.unlink()
    for attempt in range(100):
        new = tmp_path / f"new-stdout-{attempt}"
        new.touch()
        if new.stat().st_ino == identity[1]:
            break
        new.unlink()
    else:
        pytest.fail("the file system did not reuse the inode number (the case cannot be made)")
    pid = hold(new, writers)
    assert writers_of(identity) == []
    new_identity = file_identity(str(new))
    assert new_identity is not None
    assert writers_of(new_identity) == [pid]
