"""What readers see of a job's output files (the keeper writes them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from warden.server._job_files import (
    SPARE,
    JobFiles,
    empty_job_dir,
    recycle_job_dir,
    remove_job_dir,
    script_fd,
)
from warden.server._job_output import JobOutput
from warden.server._jobs import Job, JobResult, JobServices
from warden.server._syslog import PRIORITY_STDERR, PRIORITY_STDOUT, SyslogSender


class RecordingSyslog(SyslogSender):
    def __init__(self) -> None:
        super().__init__(None)
        self.records: list[tuple[str, int, bytes]] = []

    def send(self, tag: str, priority: int, line: bytes) -> None:  # type: ignore[override]
        self.records.append((tag, priority, line))


@pytest.fixture
def files(tmp_path: Path) -> JobFiles:
    files = JobFiles.create(str(tmp_path / "7"))
    yield files  # type: ignore[misc]
    files.close()


def append(files: JobFiles, name: str, data: bytes) -> None:
    with open(files.file(name), "ab") as handle:
        handle.write(data)


def test_followers_get_what_was_written_and_each_new_chunk(files: JobFiles) -> None:
    output = JobOutput(files, discard_output=False, log_tag=None, syslog=RecordingSyslog())
    append(files, "stdout", b"one\n")
    output.refresh()
    got: list[tuple[str, bytes]] = []
    output.add_follower(lambda name, data: got.append((name, data)))
    append(files, "stderr", b"two\n")
    output.refresh()
    assert got == [("stdout", b"one\n"), ("stderr", b"two\n")]


def test_sizes_are_fixed_when_the_job_ends(files: JobFiles) -> None:
    output = JobOutput(files, discard_output=False, log_tag=None, syslog=RecordingSyslog())
    append(files, "stdout", b"kept\n")
    output.finish()
    append(files, "stdout", b"after the end\n")
    output.refresh()
    assert output.read_all("stdout") == b"kept\n"
    assert output.final_sizes == {"stdout": 5, "stderr": 0}


def test_snapshot_sizes_bound_what_is_seen_after_a_restart(files: JobFiles) -> None:
    output = JobOutput(files, discard_output=False, log_tag=None, syslog=RecordingSyslog())
    append(files, "stdout", b"kept\nlate\n")
    output.finish({"stdout": 5, "stderr": 0})
    assert output.read_all("stdout") == b"kept\n"


def test_discarded_output_is_not_seen_but_logged_lines_are(files: JobFiles) -> None:
    syslog = RecordingSyslog()
    output = JobOutput(files, discard_output=True, log_tag="app", syslog=syslog)
    output.follow_to_syslog(from_now=False)
    append(files, "stdout", b"a\nb")
    append(files, "stderr", b"oops\n")
    output.refresh()
    assert syslog.records == [("app", PRIORITY_STDOUT, b"a"), ("app", PRIORITY_STDERR, b"oops")]
    output.finish()
    assert syslog.records[-1] == ("app", PRIORITY_STDOUT, b"b")  # the unfinished line, at the end
    assert output.read_all("stdout") == b""


def test_syslog_from_now_skips_what_was_written_before(files: JobFiles) -> None:
    syslog = RecordingSyslog()
    output = JobOutput(files, discard_output=False, log_tag="app", syslog=syslog)
    append(files, "stdout", b"sent by the previous server\n")
    output.follow_to_syslog(from_now=True)
    append(files, "stdout", b"new\n")
    output.refresh()
    assert syslog.records == [("app", PRIORITY_STDOUT, b"new")]


def test_nothing_is_read_when_nothing_is_written(files: JobFiles) -> None:
    output = JobOutput(files, discard_output=True, log_tag=None, syslog=RecordingSyslog())
    append(files, "stdout", b"should not exist\n")
    output.refresh()
    assert output.readable("stdout") == 0
    assert not output.written


def test_an_unreadable_output_file_reads_as_nothing_for_now(files: JobFiles) -> None:
    Path(files.file("stdout")).mkdir()  # open succeeds, pread fails (EISDIR)
    assert files.read("stdout", 0, 10) == b""


def _job(files: JobFiles) -> Job:
    services = JobServices(reactor=None, watcher=None, syslog=RecordingSyslog())  # type: ignore[arg-type]
    job = Job(services, job_id=7, path=files.path, discard_output=False, log_tag=None,
              output_limit=1 << 20)  # fmt: skip
    # No process behind it: the tests end it with _finish, as the wrapper's exit would.
    return job


def _read_alls(job: Job) -> list[str]:
    calls: list[str] = []
    read_all = job.output.read_all

    def counting(name: str) -> bytes:
        calls.append(name)
        return read_all(name)

    job.output.read_all = counting  # type: ignore[method-assign]
    return calls


def test_a_waiter_that_needs_no_output_reads_none_back(files: JobFiles) -> None:
    # Stream has sent the output already: its wait for the end must not
    # read megabytes back only to drop them.
    job = _job(files)
    calls = _read_alls(job)
    bare: list[JobResult] = []
    job.finished(output=False).addCallback(bare.append)
    append(files, "stdout", b"out\n")
    job._finish(3)
    assert bare == [JobResult(3, b"", b"", None)]
    assert calls == []
    job.finished(output=False).addCallback(bare.append)  # after the end too
    assert bare[-1] == JobResult(3, b"", b"", None) and calls == []


def test_waiters_with_and_without_output_each_get_theirs(files: JobFiles) -> None:
    job = _job(files)
    calls = _read_alls(job)
    full: list[JobResult] = []
    bare: list[JobResult] = []
    job.finished().addCallback(full.append)
    job.finished(output=False).addCallback(bare.append)
    job.finished().addCallback(full.append)
    append(files, "stdout", b"out\n")
    append(files, "stderr", b"err\n")
    job._finish(0)
    assert full == [JobResult(0, b"out\n", b"err\n", None)] * 2
    assert bare == [JobResult(0, b"", b"", None)]
    assert calls == ["stdout", "stderr"]  # read once for both full waiters


def test_a_cancelled_waiter_is_forgotten(files: JobFiles) -> None:
    job = _job(files)
    waiter = job.finished(output=False)
    waiter.addErrback(lambda failure: None)
    job.finished()
    waiter.cancel()
    assert len(job._waiters) == 1 and job._waiters[0][0] is not waiter


def test_the_script_goes_to_the_keeper_in_memory() -> None:
    fd = script_fd("echo hi\n" * 10000)
    try:
        assert os.readlink(f"/proc/self/fd/{fd}") == "/memfd:script (deleted)"
        assert not os.get_inheritable(fd)
        assert os.lseek(fd, 0, os.SEEK_CUR) == 0  # read from its start
        assert os.read(fd, 1 << 20) == b"echo hi\n" * 10000
    finally:
        os.close(fd)


def test_a_job_directory_is_removed_with_whatever_it_holds(tmp_path: Path) -> None:
    plain = tmp_path / "1"
    plain.mkdir()
    for name in ("stdout", "stderr", "pid", "exit_status"):
        (plain / name).write_text(name)
    odd = tmp_path / "2"
    (odd / "sub").mkdir(parents=True)
    (odd / "stdout").write_text("x")
    (odd / "sub" / "deeper").write_text("y")
    for path in (plain, odd, tmp_path / "never-made"):
        remove_job_dir(str(path))
        assert not path.exists()


def test_a_forgotten_jobs_directory_becomes_the_next_ones(tmp_path: Path) -> None:
    first = tmp_path / "7"
    JobFiles.create(str(first))  # none to take: made
    for name in ("stdout", "stderr", "pid", "exit_status"):
        (first / name).write_text(name)
    inode = first.stat().st_ino
    assert empty_job_dir(str(first)) and list(first.iterdir()) == []
    recycle_job_dir(str(first))
    spare = tmp_path / SPARE
    assert spare.stat().st_ino == inode and not first.exists()
    JobFiles.create(str(tmp_path / "8"))
    assert (tmp_path / "8").stat().st_ino == inode and not spare.exists()
    assert oct((tmp_path / "8").stat().st_mode & 0o777) == oct(0o700)
    # A spare there already: the emptied directory goes.
    recycle_job_dir(str(tmp_path / "8"))
    (tmp_path / "9").mkdir()
    recycle_job_dir(str(tmp_path / "9"))
    assert not (tmp_path / "9").exists() and spare.stat().st_ino == inode
    # Taken only for a job directory that is not there.
    (tmp_path / "10").mkdir()
    with pytest.raises(FileExistsError):
        JobFiles.create(str(tmp_path / "10"))
    assert spare.exists()
    # Anything but plain files in it: deleted whole, not recycled.
    (tmp_path / "11" / "sub").mkdir(parents=True)
    assert not empty_job_dir(str(tmp_path / "11")) and not (tmp_path / "11").exists()
