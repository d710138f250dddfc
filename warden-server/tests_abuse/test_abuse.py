"""Abuse from inside a container: it stays contained, and the server and other
containers keep serving (a probe pings and runs in a second container all along).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from warden.client import Client, ServerError
from warden.server.testing import REQUEST_TIMEOUT as TIMEOUT
from warden.server.testing import ContainerFactory, LinuxTestServer, container_id, output, run

from .conftest import IMAGE_SIZE, OUTPUT_LIMIT, PIDS_LIMIT, keeps_serving, wait_until


@pytest.fixture
def bystander(make_container: ContainerFactory) -> str:
    """A second container, which must keep serving while the first is abused."""
    return make_container()


def _cgroup_file(server: LinuxTestServer, client: Client, handle: str, controller: str,
                 name: str) -> Path:  # fmt: skip
    return server.cgroup_dir(controller, container_id(client, handle)) / name


def _cgroup_procs(server: LinuxTestServer, client: Client, handle: str) -> list[int]:
    procs = _cgroup_file(server, client, handle, "freezer", "cgroup.procs")
    return [int(pid) for pid in procs.read_text().split()]


def job_output_holders(container_path: str) -> list[tuple[int, str]]:
    """(pid, /proc/PID/fd/N) of each open descriptor of a file in the
    container's jobs/ (deleted or not)."""
    prefix = os.path.join(container_path, "jobs") + "/"
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            link = f"/proc/{entry}/fd/{fd}"
            try:
                if os.readlink(link).startswith(prefix):
                    found.append((int(entry), link))
            except OSError:
                continue
    return found


class DiskGuard:
    """A safety net for the output tests: should the server fail to stop a
    flood, the flood must not fill this machine's disk. A thread watches the
    sizes of the container's job files (deleted ones too) and KILLs whoever
    holds one past ``CAP`` bytes; the test then fails. (A flood writes some
    300 MB/s here: the cap leaves room for a server slowed by a loaded
    machine, which stops it later, not never.)"""

    CAP = 1024 * 1024 * 1024

    def __init__(self, server: LinuxTestServer, container_path: str) -> None:
        self.server = server
        self.container_path = container_path
        self.tripped: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            for pid, link in job_output_holders(self.container_path):
                try:
                    size = os.stat(link).st_size
                except OSError:
                    continue
                if size > self.CAP:
                    self.tripped.append(f"{pid} holds {os.readlink(link)} of {size} bytes")
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> DiskGuard:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.tripped:
            jobs = [line for line in self.server.log().splitlines() if "warden.server.jobs" in line]
            raise AssertionError("\n".join([*self.tripped, "server log:", *jobs[-30:]]))


#: How long a flood's writers may take to be stopped before the test fails.
STOP_WAIT = 30.0


# -- processes --


def test_fork_bomb_meets_the_pids_limit(
    server: LinuxTestServer, client: Client, container: str, bystander: str
) -> None:
    pids = _cgroup_file(server, client, container, "pids", "pids.current")
    events = _cgroup_file(server, client, container, "pids", "pids.events")
    with keeps_serving(server, bystander):
        job = client.spawn(container, "bomb() { bomb | bomb & }; bomb").job_id
        # The bomb reaches the limit and keeps hitting it.
        wait_until(lambda: int(events.read_text().split()[1]) > 100, "the bomb to hit pids.max")
        assert int(pids.read_text()) <= PIDS_LIMIT
        # A job in the bombed container fails cleanly, without hanging: it
        # cannot start (no process slot left: an error, as the original's
        # "iomux-spawn failed"), or it starts and cannot fork, or it runs.
        try:
            inside = run(client, container, "echo inside")
        except ServerError as error:
            assert error.message == "job failed to start"
        else:
            assert inside.exit_status != 0 or inside.stdout == b"inside\n"
        client.stop(container, kill=True, timeout=TIMEOUT)
    assert client.link(container, job, timeout=TIMEOUT).exit_status is not None
    assert _cgroup_procs(server, client, container) == [
        int(Path(client.info(container).container_path, "run", "init.pid").read_text())
    ]


# -- memory --


@pytest.mark.parametrize(
    "bomb", ["tail /dev/zero", "head -c 512M /dev/zero > /dev/shm/fill"], ids=["heap", "shm"]
)
def test_memory_bomb_is_killed_by_the_memory_limit(
    client: Client, container: str, bystander: str, server: LinuxTestServer, bomb: str
) -> None:
    limit = 64 * 1024 * 1024
    client.limit_memory(container, limit_in_bytes=limit, timeout=TIMEOUT)
    with keeps_serving(server, bystander):
        result = run(client, container, bomb)
        assert result.exit_status != 0
        # The OOM killer acted inside the container; the server saw it and
        # stopped the container, as the original did.
        wait_until(lambda: client.info(container).state == "stopped", "the stop after OOM")
    info = client.info(container)
    assert "out of memory" in info.events
    assert info.memory_stat.hierarchical_memory_limit == limit


# -- disk --


def test_filling_the_disk_stops_at_the_disk_limit(
    client: Client, container: str, bystander: str, server: LinuxTestServer
) -> None:
    limit = 32 * 1024 * 1024
    image = Path(client.info(container).container_path, "tmp", "disk.img")
    client.limit_disk(container, byte_limit=limit, inode_limit=2000, timeout=TIMEOUT)
    with keeps_serving(server, bystander):
        # Bytes until the disk is full, then inodes until none is left.
        result = run(
            client,
            container,
            "dd if=/dev/zero of=$HOME/fill bs=1M 2>&1 | tail -n 4; i=0;"
            " while : > $HOME/f$i 2>/dev/null; do i=$((i + 1)); done; echo files $i",
        )
    assert b"No space left on device" in result.stdout, result.stdout
    assert int(result.stdout.split()[-1]) < 2000
    # Still a working container; the host gave it no more than the limit (the
    # image's allocated blocks: the files, the file system's own, some slack).
    assert output(client, container, "echo still here; rm $HOME/fill") == "still here\n"
    assert image.stat().st_blocks * 512 < limit + 48 * 1024 * 1024
    assert image.stat().st_size <= IMAGE_SIZE
    info = client.info(container)
    assert info.state == "active" and not list(info.events)


# -- output --


@pytest.mark.parametrize(
    "flood",
    [
        "yes",
        "cat /dev/zero >&2",
        # TERM ignored by the shell and (inherited) by cat.
        "trap '' TERM; cat /dev/zero",
        # TERM and PIPE ignored, and the flood in a session of its own.
        "trap '' TERM PIPE; setsid cat /dev/zero",
    ],
    ids=["stdout", "stderr", "term-ignored", "own-session"],
)
def test_output_flood_stops_at_the_output_limit(
    client: Client, container: str, bystander: str, server: LinuxTestServer, flood: str
) -> None:
    path = client.info(container).container_path
    with keeps_serving(server, bystander), DiskGuard(server, path):
        result = run(client, container, flood)
        assert result.exit_status == 255
        assert len(result.stdout) + len(result.stderr) == OUTPUT_LIMIT
        assert "command exceeded maximum output" in client.info(container).events
        # Every writer is gone: nothing goes on filling the host's disk.
        wait_until(lambda: not job_output_holders(path), "the writers to end", STOP_WAIT)
    assert _cgroup_procs(server, client, container) == [
        int(Path(path, "run", "init.pid").read_text())
    ]


#: Polled by a late writer: it writes once the test made this file, after its job ended.
LATE_GO = "/tmp/late-writer-go"
AWAIT_GO = f"until [ -e {LATE_GO} ]; do sleep 0.01; done"


@pytest.mark.parametrize(
    "script",
    [
        f"({AWAIT_GO}; exec yes) & exit 0",
        f"(trap '' PIPE; {AWAIT_GO}; exec yes) & exit 0",
        f"setsid sh -c '{AWAIT_GO}; exec cat /dev/zero >&2' & exit 0",
    ],
    ids=["background", "pipe-ignored", "own-session"],
)
def test_output_after_the_job_ended_goes_nowhere(
    client: Client, container: str, bystander: str, server: LinuxTestServer, script: str
) -> None:
    """As with the original's closed pipes: the job's keeper closes them when
    the job ends, so a process the job left behind that writes to its output
    gets SIGPIPE (EPIPE when it ignores SIGPIPE) and ends, and what it wrote is
    not kept. No host file of the job is open meanwhile but the keeper's."""
    path = client.info(container).container_path
    init = int(Path(path, "run", "init.pid").read_text())

    def writer_ended() -> bool:
        return _cgroup_procs(server, client, container) == [init]

    with keeps_serving(server, bystander), DiskGuard(server, path):
        result = run(client, container, script)
        assert (result.exit_status, result.stdout, result.stderr) == (0, b"", b"")
        assert not job_output_holders(path)
        output(client, container, f"touch {LATE_GO}")  # the job is over: write now
        wait_until(writer_ended, "the late writer to end", STOP_WAIT)
    # A job whose output is not linked yet: late output is not kept either.
    output(client, container, f"rm {LATE_GO}")
    with DiskGuard(server, path):
        job = client.spawn(container, f"echo kept; ({AWAIT_GO}; exec yes) &").job_id
        job_dir = Path(path, "jobs", str(job))
        wait_until(job_dir.joinpath("exit_status").exists, "the job to end")
        output(client, container, f"touch {LATE_GO}")
        wait_until(writer_ended, "the late writer to end", STOP_WAIT)
        assert job_dir.joinpath("stdout").read_bytes() == b"kept\n"
    assert client.link(container, job, timeout=TIMEOUT).stdout == b"kept\n"


def test_a_background_process_that_keeps_quiet_lives_on(client: Client, container: str) -> None:
    """Only writers are stopped: a quiet daemon the job started is left alone."""
    run(client, container, "sleep 1000 & exit 0")
    assert "sleep 1000" in output(client, container, "ps -eo args")


# -- file descriptors --


def test_file_descriptor_exhaustion(
    client: Client, container: str, bystander: str, server: LinuxTestServer
) -> None:
    def open_files() -> int:
        return int(Path("/proc/sys/fs/file-nr").read_text().split()[0])

    before = open_files()
    # 20 processes, each opening descriptors until its RLIMIT_NOFILE says no,
    # printing how many it got, then holding them.
    hog = (
        "for p in $(seq 20); do ( n=0; while exec {fd}</dev/null; do n=$((n + 1)); done"
        " 2>/dev/null; echo $n; exec sleep 1000 ) & done; wait"
    )
    with keeps_serving(server, bystander):
        job = client.spawn(container, hog).job_id
        stdout = Path(client.info(container).container_path, "jobs", str(job), "stdout")
        wait_until(lambda: len(stdout.read_bytes().split()) == 20, "every hog to be full")
        assert open_files() > before + 15000
        assert output(client, bystander, "echo fine") == "fine\n"
        client.stop(container, kill=True, timeout=TIMEOUT)
    counts = client.link(container, job, timeout=TIMEOUT).stdout.split()
    # Each stopped at its own limit (the original's default of 1024).
    assert len(counts) == 20 and all(1000 < int(n) < 1024 for n in counts), counts
    wait_until(lambda: open_files() < before + 1000, "the descriptors to be released")


# -- copies --


@pytest.fixture
def host_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_ten_thousand_small_files_copied_out(
    client: Client, container: str, bystander: str, server: LinuxTestServer, host_dir: Path
) -> None:
    output(client, container, "mkdir many; cd many; for i in {1..10000}; do echo $i > f$i; done")
    with keeps_serving(server, bystander):
        client.copy_out(container, "/home/vcap/many/", str(host_dir / "many"), timeout=TIMEOUT)
    names = os.listdir(host_dir / "many")
    assert len(names) == 10000
    assert (host_dir / "many" / "f1234").read_text() == "1234\n"
