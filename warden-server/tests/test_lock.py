"""One server per socket: a second server on the same configuration touches nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import WardenServer

from warden.server._lock import ServerLockedError, lock_path, take_server_lock
from warden.server.testing import SERVER_BIN


def test_the_lock_names_its_holder(tmp_path: Path) -> None:
    socket_path = str(tmp_path / "w.sock")
    fd = take_server_lock(socket_path)
    try:
        assert Path(lock_path(socket_path)).read_text() == f"{os.getpid()}\n"
        # flock is per open file: a second open in this process conflicts too.
        with pytest.raises(ServerLockedError) as raised:
            take_server_lock(socket_path)
        assert raised.value.holder == os.getpid()
        assert str(raised.value) == (
            f"another warden-server (pid {os.getpid()}) holds {socket_path}.lock"
        )
    finally:
        os.close(fd)
    os.close(take_server_lock(socket_path))  # free again once closed


def test_a_second_server_on_the_same_socket_refuses_and_touches_nothing(
    server: WardenServer,
) -> None:
    with server.client() as client:
        handle = client.create().handle
        job_id = client.spawn(handle, "sleep 600").job_id
    before = os.stat(server.socket_path)
    depot_before = sorted(p.name for p in server.depot.iterdir())
    container = server.depot / handle
    container_entries = sorted(p.name for p in container.iterdir())
    snapshot = (container / "snapshot.json").read_bytes()

    done = subprocess.run(
        [str(SERVER_BIN), "--config", str(server.config_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 1
    assert f"another warden-server (pid {server.pid}) holds {server.socket_path}.lock" in (
        done.stderr
    )
    after = os.stat(server.socket_path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in server.depot.iterdir()) == depot_before
    assert sorted(p.name for p in container.iterdir()) == container_entries
    assert (container / "snapshot.json").read_bytes() == snapshot
    with server.client() as client:
        client.ping()
        assert client.list().handles == [handle]
        assert client.run(handle, "echo still here").stdout == b"still here\n"
        assert job_id in client.info(handle).job_ids
        client.destroy(handle)
