"""Failures leave nothing behind: a failed create, a job that cannot start, a client gone.

The failing scripts are the real ones wrapped by a shim that fails when a
marker file exists in the depot (a fake only for the failure itself).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT_SCRIPTS, WardenServer, job_ended, wait_for
from test_connections import RawConnection
from test_requests import processes_in

from warden.client import Client, ServerError
from warden.protocol import StreamRequest, request_to_wire

SHIM = """#!/bin/bash
# Test shim: fail like a broken {name} when the depot holds .fail-{name}.
depot=$(dirname "$1")
if [ -e "$depot/.fail-{name}" ]; then
  mkdir -p "$1/root" "$1/half-made"  # something a failing script may leave behind
  echo "{name}: failing on purpose" >&2
  exit 1
fi
exec "$(dirname "$0")/real-{name}.sh" "$@"
"""


@pytest.fixture
def failing_server(make_server: Callable[..., WardenServer]) -> WardenServer:
    server = make_server()
    scripts = server.base / "root-scripts"
    shutil.copytree(ROOT_SCRIPTS, scripts)
    for name in ("create", "job"):
        script = scripts / "insecure" / f"{name}.sh"
        script.rename(script.with_name(f"real-{name}.sh"))
        script.write_text(SHIM.format(name=name))
        script.chmod(0o755)
    server.config["server"]["root_scripts_path"] = str(scripts)
    server.write_config()
    return server.start()


def test_a_failed_create_leaves_nothing_behind(failing_server: WardenServer) -> None:
    server = failing_server
    (server.depot / ".fail-create").touch()
    with Client(server.socket_path) as client:
        with pytest.raises(ServerError) as caught:
            client.create(handle="wanted", network="10.254.0.4")
        assert caught.value.message == "command exited with failure"
        assert list(client.list().handles) == []
        assert server.containers() == []
        (server.depot / ".fail-create").unlink()
        # The handle and the network were given back.
        handle = client.create(handle="wanted", network="10.254.0.4").handle
        assert client.info(handle).host_ip == "10.254.0.5"


def test_a_job_that_cannot_start(failing_server: WardenServer) -> None:
    server = failing_server
    with Client(server.socket_path) as client:
        handle = client.create().handle
        path = Path(client.info(handle).container_path)
        # job.sh gets the container path: its parent is the depot.
        (server.depot / ".fail-job").touch()
        with pytest.raises(ServerError, match="job failed to start"):
            client.spawn(handle, "echo never")
        with pytest.raises(ServerError, match="job failed to start"):
            client.run(handle, "echo never")
        assert list((path / "jobs").iterdir()) == []
        assert (path / "snapshot.json").is_file()
        (server.depot / ".fail-job").unlink()
        assert client.run(handle, "echo fine").stdout == b"fine\n"


def test_a_stream_whose_client_leaves_keeps_the_job(server: WardenServer) -> None:
    with Client(server.socket_path) as client:
        handle = client.create().handle
        root = Path(client.info(handle).container_path) / "root"
        job_id = client.spawn(
            handle, "echo first; while [ ! -e go ]; do sleep 0.02; done; echo second"
        ).job_id
        raw = RawConnection(server.socket_path)
        raw.send(request_to_wire(StreamRequest(handle=handle, job_id=job_id)))
        assert raw.receive().data == b"first\n"
        raw.close()
        (root / "go").touch()
        path = client.info(handle).container_path
        wait_for(lambda: job_ended(path, job_id), what="the job to end")
        result = client.link(handle, job_id)
        assert result.stdout == b"first\nsecond\n"


def test_an_idle_container_has_no_processes(server: WardenServer) -> None:
    with Client(server.socket_path) as client:
        handle = client.create().handle
        path = client.info(handle).container_path
        client.run(handle, "echo hi")
        job_id = client.spawn(handle, "true").job_id
        wait_for(lambda: job_ended(path, job_id), what="the job to end")
        wait_for(lambda: processes_in(path) == [], what="its wrapper to exit")
        assert processes_in(path + "/root") == []
