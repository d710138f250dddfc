"""Restart survival: drain with SIGUSR2, crash with SIGKILL, recover at start."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import WardenServer, job_ended, process_alive, wait_for

from warden.client import Client, ClientConnectionError, ServerError
from warden.protocol import RunRequest, request_to_wire

WAIT_FOR_GO = "echo before; while [ ! -e {name} ]; do sleep 0.02; done; echo after; exit 5"
#: A job that ends at once, leaving behind a process that records its pid in
#: file {name}.pid, then writes to its output, a line every 50 ms, once file
#: {name} exists.
LATE_WRITER = (
    "echo kept; (echo $BASHPID > {name}.pid; while [ ! -e {name} ]; do sleep 0.02; done;"
    " while :; do echo late; sleep 0.05; done) &"
)


def job_dir(container_path: str, job_id: int) -> Path:
    return Path(container_path) / "jobs" / str(job_id)


def wrapper_pid(container_path: str, job_id: int) -> int:
    snapshot = json.loads((Path(container_path) / "snapshot.json").read_text())
    return int(snapshot["jobs"][str(job_id)]["wrapper_pid"])


@pytest.fixture
def started(make_server: Callable[..., WardenServer]) -> WardenServer:
    return make_server().start()


def test_drain_keeps_jobs_and_their_output(started: WardenServer) -> None:
    server = started
    with Client(server.socket_path) as client:
        handle = client.create(handle="survivor").handle
        path = client.info(handle).container_path
        root = Path(path) / "root"
        running = client.spawn(handle, WAIT_FOR_GO.format(name="go1")).job_id
        ended_before = client.spawn(handle, "echo finished early; exit 2").job_id
        ends_while_down = client.spawn(handle, WAIT_FOR_GO.format(name="go2")).job_id
        wait_for(lambda: job_ended(path, ended_before), what="a job to end")
        net_port = client.net_in(handle).host_port
        wrapper = wrapper_pid(path, running)

    # A client waiting on a link is disconnected by the drain; the job stays.
    linker = Client(server.socket_path)
    linker.connect()
    caught: list[BaseException] = []

    def link() -> None:
        try:
            linker.link(handle, running, timeout=60)
        except BaseException as error:
            caught.append(error)

    thread = threading.Thread(target=link)
    thread.start()
    stdout = job_dir(path, running) / "stdout"
    wait_for(lambda: stdout.exists() and b"before" in stdout.read_bytes(), what="output")
    assert server.drain() == 0
    thread.join(30)
    assert len(caught) == 1 and isinstance(caught[0], ClientConnectionError)
    assert process_alive(wrapper), "the job must keep running while no server runs"

    (root / "go2").touch()
    wait_for((job_dir(path, ends_while_down) / "exit_status").exists, what="job end")

    server.start()
    with Client(server.socket_path) as client:
        assert list(client.list().handles) == ["survivor"]
        info = client.info(handle)
        assert info.state == "active"
        # Every job that can still be linked, running or not.
        assert {running, ended_before, ends_while_down} <= set(info.job_ids)
        early = client.link(handle, ended_before)
        assert (early.exit_status, early.stdout) == (2, b"finished early\n")
        down = client.link(handle, ends_while_down)
        assert (down.exit_status, down.stdout) == (5, b"before\nafter\n")
        (root / "go1").touch()
        result = client.link(handle, running)
        assert (result.exit_status, result.stdout) == (5, b"before\nafter\n")
        # Ids never go back, pools do not hand out what the container holds.
        assert client.spawn(handle, "true").job_id > ends_while_down
        assert client.net_in(handle).host_port == net_port + 1
        other = client.info(client.create().handle)
        assert other.host_ip != info.host_ip


def test_sigkill_in_the_middle_of_a_job(started: WardenServer) -> None:
    server = started
    with Client(server.socket_path) as client:
        handle = client.create().handle
        path = client.info(handle).container_path
        job_id = client.spawn(handle, WAIT_FOR_GO.format(name="go") + " 2>/dev/null").job_id
        script = "echo one; echo two >&2; " + WAIT_FOR_GO.format(name="go")
        streamed = client.spawn(handle, script).job_id
        stdout = job_dir(path, streamed) / "stdout"
        wait_for(lambda: stdout.exists() and stdout.stat().st_size >= 11, what="output")
    server.kill()
    (Path(path) / "root" / "go").touch()
    wait_for((job_dir(path, job_id) / "exit_status").exists, what="the job to end")
    server.start()
    with Client(server.socket_path) as client:
        result = client.link(handle, job_id)
        assert (result.exit_status, result.stdout) == (5, b"before\nafter\n")
        frames = list(client.stream(handle, streamed))
        assert b"".join(f.data for f in frames if f.name == "stdout") == b"one\nbefore\nafter\n"
        assert b"".join(f.data for f in frames if f.name == "stderr") == b"two\n"
        assert frames[-1].exit_status == 5
        assert client.spawn(handle, "true").job_id > streamed


def test_sigkill_during_a_running_job_then_link_waits(started: WardenServer) -> None:
    server = started
    with Client(server.socket_path) as client:
        handle = client.create().handle
        path = client.info(handle).container_path
        job_id = client.spawn(handle, WAIT_FOR_GO.format(name="go")).job_id
    server.kill()
    server.start()
    with Client(server.socket_path) as client:
        assert job_id in client.info(handle).job_ids
        threading.Timer(0.2, (Path(path) / "root" / "go").touch).start()
        result = client.link(handle, job_id, timeout=60)
        assert (result.exit_status, result.stdout) == (5, b"before\nafter\n")


def test_output_limit_holds_for_output_written_while_down(
    make_server: Callable[..., WardenServer],
) -> None:
    server = make_server(server={"job_output_limit": 1000}).start()
    with Client(server.socket_path) as client:
        handle = client.create().handle
        path = client.info(handle).container_path
        script = "while [ ! -e go ]; do sleep 0.02; done; head -c 5000 /dev/zero"
        job_id = client.spawn(handle, script).job_id
    server.drain()
    (Path(path) / "root" / "go").touch()
    wait_for((job_dir(path, job_id) / "exit_status").exists, what="the job to end")
    server.start()
    with Client(server.socket_path) as client:
        result = client.link(handle, job_id)
        assert (result.exit_status, len(result.stdout)) == (255, 1000)
        assert "command exceeded maximum output" in result.info.events


def test_recovery_destroys_what_cannot_be_recovered(started: WardenServer) -> None:
    server = started
    with Client(server.socket_path) as client:
        kept = client.create(handle="kept").handle
        lost = client.create(handle="lost").handle
        lost_path = Path(client.info(lost).container_path)
        client.spawn(lost, "sleep 1000")
        wrapper = wrapper_pid(str(lost_path), 1)
    server.kill()
    # A crash in the middle of a change leaves no snapshot: such a container goes.
    (lost_path / "snapshot.json").unlink()
    stray = server.depot / "stray"
    (stray / "root").mkdir(parents=True)
    (server.depot / "garbage").mkdir()
    (server.depot / "garbage" / "snapshot.json").write_text("{not json")
    server.start()
    with Client(server.socket_path) as client:
        assert list(client.list().handles) == [kept]
    assert not lost_path.exists() and not stray.exists()
    assert not (server.depot / "garbage").exists()
    wait_for(lambda: not process_alive(wrapper), what="the lost container's job to die")


def test_recovered_containers_get_their_grace_timer(
    make_server: Callable[..., WardenServer],
) -> None:
    server = make_server().start()
    with Client(server.socket_path) as client:
        short = client.create(grace_time=1).handle
        forever = client.create().handle  # the test config's default: no grace time
        server.drain()
    server.start()
    path = server.depot
    wait_for(lambda: not (path / short).exists(), what="the grace timer")
    with Client(server.socket_path) as client:
        assert list(client.list().handles) == [forever]


def test_job_ids_are_never_reused(started: WardenServer) -> None:
    server = started
    with Client(server.socket_path) as client:
        handle = client.create().handle
        last = client.run(handle, "true")  # linked, so forgotten at once
        job_id = client.spawn(handle, "true").job_id
        client.link(handle, job_id)
        client.destroy(handle)
    server.drain()
    server.start()
    with Client(server.socket_path) as client:
        handle = client.create().handle
        assert client.spawn(handle, "true").job_id > job_id
        del last


def test_a_drain_lets_other_requests_finish(started: WardenServer) -> None:
    server = started
    slow: dict[str, Any] = {}
    with Client(server.socket_path) as client:
        handle = client.create().handle
        root = Path(client.info(handle).container_path) / "root"
        # The job ends on TERM only once the test says so: the stop is in flight
        # for as long as the test needs, however loaded the machine.
        client.spawn(
            handle,
            "trap 'until [ -e go ]; do sleep 0.02; done; exit 0' TERM;"
            " while :; do sleep 0.05; done",
        )

    def stop() -> None:
        with Client(server.socket_path) as stopper:
            try:
                stopper.stop(handle, timeout=60)
                slow["stopped"] = True
            except (ServerError, ClientConnectionError) as error:
                slow["error"] = error

    thread = threading.Thread(target=stop)
    thread.start()
    # Stop deletes the snapshot when it begins (and writes it when it ends).
    snapshot_file = server.depot / handle / "snapshot.json"
    wait_for(lambda: not snapshot_file.exists(), what="the stop to begin")
    assert server.process is not None
    server.process.send_signal(signal.SIGUSR2)
    wait_for(lambda: "Drain initiated" in server.log(), what="the drain to begin")
    (root / "go").touch()
    assert server.wait() == 0
    thread.join(30)
    assert slow == {"stopped": True}
    snapshot = json.loads(snapshot_file.read_text())
    assert snapshot["state"] == "stopped"
    assert os.path.isdir(server.depot / handle)


def test_late_output_of_finished_jobs_goes_nowhere_with_or_without_a_server(
    started: WardenServer,
) -> None:
    """A job that ended before a restart leaves a writer behind: its output
    pipes closed with the job's keeper, so the writer ends at its first write
    (SIGPIPE), while the server is down or after it is back, and nothing it
    writes is kept."""
    server = started
    with Client(server.socket_path) as client:
        handle = client.create().handle
        path = client.info(handle).container_path
        after_restart = client.spawn(handle, LATE_WRITER.format(name="go1")).job_id
        while_down = client.spawn(handle, LATE_WRITER.format(name="go2")).job_id
        jobs = {after_restart, while_down}
        wait_for(lambda: all(job_ended(path, job) for job in jobs), what="the jobs to end")
    assert server.drain() == 0
    root = Path(path) / "root"

    def written(path: Path) -> bool:
        return path.exists() and path.read_text().endswith("\n")

    wait_for(lambda: written(root / "go1.pid") and written(root / "go2.pid"),
             what="the writers to start")  # fmt: skip
    writers = {name: int((root / f"{name}.pid").read_text()) for name in ("go1", "go2")}
    (root / "go2").touch()
    wait_for(lambda: not process_alive(writers["go2"]), what="the writer to end while down")
    server.start()
    assert process_alive(writers["go1"]), "the other writer waits for its file"
    (root / "go1").touch()
    wait_for(lambda: not process_alive(writers["go1"]), what="the late writer to end")
    with Client(server.socket_path) as client:
        for job_id in jobs:
            assert (job_dir(path, job_id) / "stdout").read_bytes() == b"kept\n"
            result = client.link(handle, job_id)
            assert (result.exit_status, result.stdout) == (0, b"kept\n")


def test_a_job_spawned_just_before_a_drain_still_runs_after_the_restart(
    started: WardenServer,
) -> None:
    server = started
    with Client(server.socket_path) as client:
        handles = [client.create().handle for _ in range(3)]
        handle = handles[-1]
        root = Path(client.info(handle).container_path) / "root"
        job = client.spawn(handle, "echo $$ > job.pid; sleep 3; echo slept").job_id
        wait_for(lambda: (root / "job.pid").exists() and (root / "job.pid").read_text(), what="pid")
    assert server.drain() == 0
    server.start()
    with Client(server.socket_path) as client:
        assert process_alive(int((root / "job.pid").read_text()))
        result = client.link(handle, job, timeout=60)
        assert (result.exit_status, result.stdout) == (0, b"slept\n")


def test_a_run_whose_client_goes_away_keeps_its_job(started: WardenServer) -> None:
    """A Run's job is in no snapshot while its client waits (the answer
    forgets it); once that client is gone, the job is written to the
    snapshot as a spawned job is, and survives even a SIGKILL."""
    server = started
    with Client(server.socket_path) as client:
        handle = client.create().handle
        path = Path(client.info(handle).container_path)
        before = json.loads((path / "snapshot.json").read_text())
        assert client.run(handle, "exit 4").exit_status == 4
        assert json.loads((path / "snapshot.json").read_text()) == before
    runner = socket.socket(socket.AF_UNIX)
    runner.connect(server.socket_path)
    runner.sendall(request_to_wire(RunRequest(handle=handle, script=WAIT_FOR_GO.format(name="go"))))
    jobs = path / "jobs"
    wait_for(lambda: any((d / "stdout").exists() and (d / "stdout").read_bytes() == b"before\n"
                         for d in jobs.iterdir()), what="the run's first line")  # fmt: skip
    runner.close()
    wait_for(lambda: json.loads((path / "snapshot.json").read_text())["jobs"], what="the job")
    server.kill()
    server.start()
    with Client(server.socket_path) as client:
        (job_id,) = client.info(handle).job_ids
        (path / "root" / "go").touch()
        result = client.link(handle, job_id)
        assert (result.exit_status, result.stdout) == (5, b"before\nafter\n")
