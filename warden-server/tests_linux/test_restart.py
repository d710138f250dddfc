"""Containers and their running jobs outlive the server."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from warden.protocol import properties_of

from .conftest import TIMEOUT, LinuxServer, init_pid, output


@pytest.mark.parametrize("how", ["drain", "kill"])
def test_running_job_survives_a_restart(tmp_path: Path, server: LinuxServer, how: str) -> None:
    with server.client() as client:
        handle = client.create(timeout=TIMEOUT).handle
        pid = init_pid(server, client, handle)
        # The job waits until a file appears, which the test copies in after
        # the restart.
        job = client.spawn(
            handle, "echo before; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after; exit 9"
        ).job_id
        finished = client.spawn(handle, "echo done early").job_id
        assert output(client, handle, "echo ready") == "ready\n"
    if how == "drain":
        assert server.drain() == 0
    else:
        server.kill()
    server.start()
    (tmp_path / "go").write_text("")
    with server.client() as client:
        assert handle in client.list().handles
        assert init_pid(server, client, handle) == pid
        assert client.info(handle).state == "active"
        client.copy_in(handle, str(tmp_path / "go"), "/tmp/go", timeout=TIMEOUT)
        result = client.link(handle, job, timeout=TIMEOUT)
        assert (result.exit_status, result.stdout) == (9, b"before\nafter\n")
        early = client.link(handle, finished, timeout=TIMEOUT)
        assert (early.exit_status, early.stdout) == (0, b"done early\n")
        # Still a working container, with job ids going on from before.
        new_job = client.spawn(handle, "echo again").job_id
        assert new_job > job
        assert client.link(handle, new_job).stdout == b"again\n"
        client.destroy(handle, timeout=TIMEOUT)


def test_dead_container_is_destroyed_at_restart(server: LinuxServer) -> None:
    with server.client() as client:
        handle = client.create(timeout=TIMEOUT).handle
        pid = init_pid(server, client, handle)
        path = Path(client.info(handle).container_path)
    assert server.drain() == 0
    os.kill(pid, signal.SIGKILL)  # the container died while no server ran
    server.start()
    with server.client() as client:
        assert handle not in client.list().handles
    assert not path.exists()
    assert not server.cgroup_dir("freezer", path.name).exists()


def test_a_job_spawned_just_before_a_drain_still_runs_after_the_restart(
    server: LinuxServer,
) -> None:
    # The job waits for a file the test makes once it has seen the job alive
    # after the restart (how long a drain and a start take is the bench's to
    # measure; here: nothing of them stops a running job).
    with server.client() as client:
        handles = [client.create(timeout=TIMEOUT).handle for _ in range(3)]
        handle = handles[-1]
        waiting = "echo $$ > /tmp/job.pid; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo slept"
        job = client.spawn(handle, waiting).job_id
        started = "while [ ! -s /tmp/job.pid ]; do sleep 0.01; done; echo up"
        assert output(client, handle, started) == "up\n"
    assert server.drain() == 0
    server.start()
    with server.client() as client:
        still = "kill -0 $(cat /tmp/job.pid) && echo running"
        assert output(client, handle, still) == "running\n"
        output(client, handle, "touch /tmp/go")
        result = client.link(handle, job, timeout=TIMEOUT)
        assert (result.exit_status, result.stdout) == (0, b"slept\n")
        for made in handles:
            client.destroy(made, timeout=TIMEOUT)


@pytest.mark.parametrize("how", ["drain", "kill"])
def test_properties_survive_a_restart(server: LinuxServer, how: str) -> None:
    with server.client() as client:
        handle = client.create(properties={"a": "1", "b": "2"}, timeout=TIMEOUT).handle
        client.set_property(handle, "c", "3")
        client.remove_property(handle, "a")
        job = client.spawn(handle, "echo ready; while :; do sleep 0.05; done").job_id
    if how == "drain":
        assert server.drain() == 0
    else:
        server.kill()
    server.start()
    with server.client() as client:
        assert properties_of(client.info(handle)) == {"b": "2", "c": "3"}
        assert client.list(properties={"c": "3"}).handles == [handle]
        assert client.get_property(handle, "b") == "2"
        # The job is still signalled in its container after the restart.
        client.signal(handle, job, "TERM")
        assert client.link(handle, job, timeout=TIMEOUT).exit_status == 255
        client.destroy(handle, timeout=TIMEOUT)
