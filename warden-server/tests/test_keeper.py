"""warden-keeper on its own: a job's pipes, its output files, the limit, the
exit status, late writers (no container needed; the backends' job.sh run it)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

KEEPER = Path(__file__).resolve().parents[2] / "root-scripts" / "linux" / "bin" / "warden-keeper"


def keep(job_dir: Path, script: str, *options: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``script`` with bash under the keeper; the script is its stdin."""
    (job_dir / "script").write_text(script)
    with (job_dir / "script").open("rb") as stdin:
        argv = [str(KEEPER), *options, str(job_dir), "--", "/bin/bash"]
        return subprocess.run(argv, stdin=stdin, capture_output=True, timeout=60, check=False)


def wait_for(predicate: object, what: str) -> None:
    deadline = time.monotonic() + 30
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture
def job_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "job"
    directory.mkdir(mode=0o700)
    return directory


def test_output_goes_to_files_and_the_status_is_written(job_dir: Path) -> None:
    done = keep(job_dir, "echo out; echo err >&2; exit 7", "--limit", "100")
    assert done.returncode == 0
    assert (job_dir / "stdout").read_bytes() == b"out\n"
    assert (job_dir / "stderr").read_bytes() == b"err\n"
    assert (job_dir / "exit_status").read_text() == "7\n"
    assert not (job_dir / "output_exceeded").exists()
    for name in ("stdout", "stderr", "exit_status"):
        assert stat.S_IMODE(os.stat(job_dir / name).st_mode) == 0o600


def test_the_job_holds_no_host_file(job_dir: Path) -> None:
    keep(job_dir, "for fd in 0 1 2; do readlink /proc/self/fd/$fd >&2; done; ls /proc/self/fd",
         "--unbounded")  # fmt: skip
    links = (job_dir / "stderr").read_text().splitlines()
    assert links[0] == "/memfd:script (deleted)"
    assert all(link.startswith("pipe:[") for link in links[1:]) and len(links) == 3, links
    # ls sees its own 0-2 and the directory it lists: nothing else was passed on.
    assert (job_dir / "stdout").read_text().split() == ["0", "1", "2", "3"]


def test_a_signal_death_is_recorded_as_minus_the_signal(job_dir: Path) -> None:
    keep(job_dir, "kill -TERM $$", "--limit", "100")
    assert (job_dir / "exit_status").read_text() == f"{-signal.SIGTERM}\n"


def test_the_limit_is_exact_across_both_streams(job_dir: Path) -> None:
    done = keep(job_dir, "echo 12345; echo 67890 >&2; echo more; sleep 5", "--limit", "9")
    assert done.returncode == 0
    kept = (job_dir / "stdout").read_bytes() + (job_dir / "stderr").read_bytes()
    assert len(kept) == 9
    assert (job_dir / "output_exceeded").exists()
    # TERM ended the job (not its sleep).
    assert (job_dir / "exit_status").read_text() == f"{-signal.SIGTERM}\n"


def test_past_the_limit_kill_follows_term(job_dir: Path) -> None:
    keep(job_dir, "trap '' TERM; while :; do echo flood; done", "--limit", "1000")
    assert (job_dir / "exit_status").read_text() == f"{-signal.SIGKILL}\n"
    assert len((job_dir / "stdout").read_bytes()) == 1000


def test_discarded_output_writes_no_file(job_dir: Path) -> None:
    done = keep(job_dir, "head -c 1000000 /dev/zero; echo err >&2; exit 3", "--discard")
    assert done.returncode == 0
    assert not (job_dir / "stdout").exists() and not (job_dir / "stderr").exists()
    assert (job_dir / "exit_status").read_text() == "3\n"


def test_a_large_script_reaches_the_job_whole(job_dir: Path) -> None:
    lines = [f"echo {i}" for i in range(20000)]
    keep(job_dir, "\n".join(lines) + "\n", "--unbounded")
    assert (job_dir / "stdout").read_text().split() == [str(i) for i in range(20000)]


def test_the_pid_file_names_the_process_group(job_dir: Path) -> None:
    keep(job_dir, "ps -o pgid= $$ >&2; echo $$", "--limit", "100", "--pid-file",
         str(job_dir / "pid"))  # fmt: skip
    pid = (job_dir / "pid").read_text().strip()
    assert (job_dir / "stdout").read_text().strip() == pid
    assert (job_dir / "stderr").read_text().strip() == pid


def test_a_late_writer_meets_a_closed_pipe_and_nothing_is_kept(job_dir: Path) -> None:
    script = (f"echo kept; (echo $BASHPID > {job_dir}/writer; "
              f"while [ ! -e {job_dir}/go ]; do sleep 0.02; done; "
              "while :; do echo late; sleep 0.05; done) &")  # fmt: skip
    done = keep(job_dir, script, "--limit", "1000")
    assert done.returncode == 0  # the keeper ended with the job, not with the writer
    wait_for(lambda: (job_dir / "writer").exists() and (job_dir / "writer").read_text().strip(),
             "the writer to start")  # fmt: skip
    writer = int((job_dir / "writer").read_text())
    assert alive(writer)
    (job_dir / "go").touch()
    wait_for(lambda: not alive(writer), "the late writer to end")
    assert (job_dir / "stdout").read_bytes() == b"kept\n"


def test_a_job_writes_ahead_of_a_stalled_keeper(job_dir: Path) -> None:
    # The output pipes hold 1 MiB, not the kernel's 64 KiB: 768 KiB goes
    # into them while the keeper is stopped (with 64 KiB the job would
    # block until the keeper reads, and "written" would never appear).
    size = 768 * 1024
    (job_dir / "script").write_text(
        f"while [ ! -e {job_dir}/stopped ]; do sleep 0.02; done; "
        f"head -c {size} /dev/zero; echo done > {job_dir}/written"
    )
    with (job_dir / "script").open("rb") as stdin:
        keeper = subprocess.Popen([str(KEEPER), "--unbounded", str(job_dir), "--", "/bin/bash"],
                                  stdin=stdin, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for((job_dir / "stdout").exists, "the keeper to start")
        keeper.send_signal(signal.SIGSTOP)
        (job_dir / "stopped").touch()
        wait_for(lambda: (job_dir / "written").exists() and (job_dir / "written").read_text(),
                 "the job to write its output into the pipe")  # fmt: skip
    finally:
        keeper.send_signal(signal.SIGCONT)
        assert keeper.wait(timeout=60) == 0
    assert (job_dir / "stdout").stat().st_size == size
    assert (job_dir / "exit_status").read_text() == "0\n"


@pytest.mark.parametrize(
    "argv",
    [["--limit", "x"], ["--limit", "-1"], ["--bogus"], [], ["/nonexistent-dir", "--", "/bin/true"]],
)
def test_bad_command_lines_are_refused(argv: list[str]) -> None:
    done = subprocess.run([str(KEEPER), *argv], capture_output=True, timeout=10, check=False)
    assert done.returncode in (1, 2)
    assert done.stderr.startswith(b"warden-keeper: ")


def test_a_program_that_cannot_run_fails_with_127(job_dir: Path) -> None:
    done = subprocess.run([str(KEEPER), "--limit", "100", str(job_dir), "--", "/nonexistent"],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
                          check=False)  # fmt: skip
    assert done.returncode == 0
    assert (job_dir / "exit_status").read_text() == "127\n"
    assert b"cannot run /nonexistent" in (job_dir / "stderr").read_bytes()


def test_the_script_copy_cannot_be_written_or_grown(job_dir: Path) -> None:
    script = ("echo x >> /proc/self/fd/0 || echo refused; "
              "fallocate -n -l 1048576 /proc/self/fd/0 || echo refused")  # fmt: skip
    keep(job_dir, script, "--unbounded")
    assert (job_dir / "stdout").read_text() == "refused\nrefused\n"
    assert (job_dir / "script").read_text().startswith("echo x")


def test_an_output_file_that_cannot_be_made_fails_the_job(job_dir: Path) -> None:
    # The files are made once the job is forked; one that is there already
    # (a job directory used twice) ends the job, and no status is written.
    (job_dir / "stderr").write_bytes(b"earlier\n")
    done = keep(job_dir, "echo out", "--limit", "100")
    assert done.returncode == 1
    assert done.stderr.startswith(b"warden-keeper: cannot create stderr in the job's directory")
    assert (job_dir / "stderr").read_bytes() == b"earlier\n"
    assert not (job_dir / "exit_status").exists()


def test_the_status_file_is_written_aside_and_renamed(job_dir: Path) -> None:
    done = keep(job_dir, "exit 5", "--limit", "100")
    assert done.returncode == 0
    assert (job_dir / "exit_status").read_text() == "5\n"
    assert not (job_dir / "exit_status.tmp").exists()
