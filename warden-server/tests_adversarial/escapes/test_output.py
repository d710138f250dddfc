"""A job's stdout and stderr are pipes to its keeper on the host and its stdin
a sealed in-memory copy of its script, never host files: the handles a job
is given lead nowhere outside its limits."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

from warden.client import Client

from .conftest import PROBE, TIMEOUT, Attempt, LinuxServer

MIB = 1024 * 1024


def job_dir(client: Client, handle: str, job_id: int) -> Path:
    return Path(client.info(handle, timeout=TIMEOUT).container_path) / "jobs" / str(job_id)


def wait_for(predicate: Callable[[], object], what: str) -> None:
    """Wait until ``predicate()`` holds (a bound on waiting, not a speed check)."""
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def ended(directory: Path) -> Callable[[], bool]:
    return (directory / "exit_status").exists


def test_a_job_cannot_allocate_host_blocks_through_its_output(inside: Attempt) -> None:
    """fallocate with KEEP_SIZE on stdout or stderr would take host disk
    blocks that neither the output limit (the size stays 0) nor the disk
    limit sees."""
    size = 300 * MIB
    script = f"{PROBE} fallocate 1 {size}; {PROBE} fallocate 2 {size}; {PROBE} fallocate 0 {size}"
    client, handle = inside.client, inside.handle
    job = client.spawn(handle, script, privileged=inside.privileged).job_id
    directory = job_dir(client, handle, job)
    wait_for(ended(directory), "the job to end")
    allocated = sum(os.stat(directory / name).st_blocks * 512 for name in ("stdout", "stderr"))
    assert allocated < MIB
    result = client.link(handle, job, timeout=TIMEOUT)
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 3 and all(line.startswith("fallocate E") for line in lines), lines


def test_a_lease_on_its_output_does_not_stop_the_server(
    server: LinuxServer, client: Client, fresh: Callable[[], str]
) -> None:
    """A privileged job that holds a write lease on its stdout (ignoring
    SIGIO) would make whoever opens the file wait out the kernel's
    lease-break-time (45 s): the server, for every client."""
    handle = fresh()
    job = client.spawn(handle, f"{PROBE} lease 1 60", privileged=True).job_id
    stdout = job_dir(client, handle, job) / "stdout"
    # The line the job wrote after taking the lease has reached the host.
    wait_for(lambda: stdout.exists() and stdout.stat().st_size > 0, "the job's line")
    streamed: list[bytes] = []

    def stream() -> None:
        # A Stream makes the server read the output: open the file.
        with server.client() as streamer:
            streamed.extend(response.data for response in streamer.stream(handle, job))

    thread = threading.Thread(target=stream, daemon=True)
    thread.start()
    with server.client() as other:
        # Well below the lease-break-time: a server waiting on the lease fails this.
        other.ping(timeout=10)
        other.info(handle, timeout=10)
    client.stop(handle, kill=True, timeout=TIMEOUT)
    thread.join(TIMEOUT)
    assert b"".join(streamed).startswith(b"lease E"), streamed


def test_a_job_cannot_make_a_set_user_id_program_on_the_host(inside: Attempt) -> None:
    """Copying a shell to stdout and chmod 4755 (or chown) through
    /proc/self/fd would leave a set-user-ID-root program in the depot; so
    would the same through stdin, were the job's script a file there (it is
    an in-memory copy, and no file of the job's directory)."""
    script = (
        "cat /bin/dash; "
        "for fd in 0 1 2; do chmod 4755 /proc/self/fd/$fd; chown 1000:1000 /proc/self/fd/$fd; "
        "done 2> /dev/null; true"
    )
    client, handle = inside.client, inside.handle
    job = client.spawn(handle, script, privileged=inside.privileged).job_id
    directory = job_dir(client, handle, job)
    wait_for(ended(directory), "the job to end")
    assert not (directory / "script").exists()
    for name in ("stdout", "stderr"):
        info = os.stat(directory / name)
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o600, 0, 0), name
    result = client.link(handle, job, timeout=TIMEOUT)
    assert result.exit_status == 0
    assert result.stdout.startswith(b"\x7fELF")  # the shell was copied out, as a plain file
