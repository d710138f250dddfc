"""Snapshots: written atomically, at the original's moments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import WardenServer, wait_for

from warden.client import Client
from warden.server import _snapshot
from warden.server._snapshot import SnapshotError, delete_snapshot, read_snapshot, write_snapshot


def test_write_read_delete(tmp_path: Path) -> None:
    assert read_snapshot(str(tmp_path)) is None
    write_snapshot(str(tmp_path), {"state": "active", "jobs": {}})
    assert read_snapshot(str(tmp_path)) == {"state": "active", "jobs": {}}
    assert list((tmp_path / "tmp").iterdir()) == []  # the temporary file was renamed
    delete_snapshot(str(tmp_path))
    delete_snapshot(str(tmp_path))
    assert read_snapshot(str(tmp_path)) is None


@pytest.mark.parametrize("exchange", [True, False], ids=["exchanged", "renamed"])
def test_a_write_replaces_the_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    if not exchange:  # a C library without renameat2: a plain rename
        monkeypatch.setattr(_snapshot, "_renameat2", None)
    write_snapshot(str(tmp_path), {"state": "active", "jobs": {}})
    before = (tmp_path / "snapshot.json").stat().st_ino
    write_snapshot(str(tmp_path), {"state": "stopped", "jobs": {"1": {}}})
    assert read_snapshot(str(tmp_path)) == {"state": "stopped", "jobs": {"1": {}}}
    assert (tmp_path / "snapshot.json").stat().st_ino != before  # a new file, not rewritten
    assert list((tmp_path / "tmp").iterdir()) == []  # the old one is gone


def test_write_never_recreates_a_removed_container(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_snapshot(str(tmp_path / "gone"), {})
    assert not (tmp_path / "gone").exists()


def test_corrupt_snapshots_are_reported(tmp_path: Path) -> None:
    (tmp_path / "snapshot.json").write_text("[1, 2")
    with pytest.raises(SnapshotError):
        read_snapshot(str(tmp_path))
    (tmp_path / "snapshot.json").write_text("[1, 2]")
    with pytest.raises(SnapshotError, match="not a JSON object"):
        read_snapshot(str(tmp_path))


def test_snapshot_contents(server: WardenServer) -> None:
    with Client(server.socket_path) as client:
        handle = client.create(handle="snap", grace_time=77).handle
        path = Path(client.info(handle).container_path)
        port = client.net_in(handle).host_port
        job_id = client.spawn(handle, "exit 3", log_tag="tag").job_id
        client.run(handle, "true")
        wait = client.info(handle)
        del wait
        snapshot = json.loads((path / "snapshot.json").read_text())
        assert snapshot["state"] == "active"
        assert snapshot["grace_time"] == 77
        assert snapshot["events"] == [] and snapshot["limits"] == {}
        resources = snapshot["resources"]
        assert resources["handle"] == "snap"
        assert resources["container_id"] == path.name
        assert resources["network"] == "10.254.0.0"
        assert resources["uid"] == 30000
        assert resources["ports"] == [port]
        entry = snapshot["jobs"][str(job_id)]
        assert entry["log_tag"] == "tag" and entry["discard_output"] is False
        client.link(handle, job_id)
        client.stop(handle)
        assert json.loads((path / "snapshot.json").read_text())["state"] == "stopped"
        client.destroy(handle)
        assert not path.exists()


def test_a_destroy_writes_no_snapshot(server: WardenServer) -> None:
    """The Stop a Destroy starts with writes none (the destroy deletes it
    next): a write would fail here, on a directory where its file goes."""
    with Client(server.socket_path) as client:
        handle = client.create().handle
        path = Path(client.info(handle).container_path)
        assert (path / "snapshot.json").exists()
        (path / "tmp" / "snapshot.json.tmp").mkdir(parents=True)
        client.destroy(handle)
    assert not path.exists()
    assert "cannot write the snapshot" not in server.log()


def test_a_finished_job_is_written_to_the_snapshot(server: WardenServer) -> None:
    with Client(server.socket_path) as client:
        handle = client.create().handle
        path = Path(client.info(handle).container_path)
        job_id = client.spawn(handle, "exit 9").job_id

        def status() -> object:
            entry = json.loads((path / "snapshot.json").read_text())["jobs"][str(job_id)]
            return entry.get("status")

        from conftest import wait_for

        wait_for(lambda: status() is not None, what="the snapshot of the ended job")
        assert status() == [9, "", ""]


def test_a_job_end_not_yet_written_is_read_back_after_a_crash(server: WardenServer) -> None:
    """The snapshot is rewritten a moment after a job ends; a crash before
    that loses nothing: the job's directory tells its end."""
    from conftest import job_ended, wait_for

    with Client(server.socket_path) as client:
        handle = client.create().handle
        path = Path(client.info(handle).container_path)
        job_id = client.spawn(handle, "echo out; exit 9").job_id
        wait_for(lambda: job_ended(str(path), job_id), what="the job to end")
    server.kill()
    server.start()
    with Client(server.socket_path) as client:
        result = client.link(handle, job_id)
        assert (result.exit_status, result.stdout) == (9, b"out\n")


def test_a_spawn_writes_the_end_of_an_earlier_job_along(server: WardenServer) -> None:
    from conftest import job_ended, wait_for

    with Client(server.socket_path) as client:
        handle = client.create().handle
        path = Path(client.info(handle).container_path)
        first = client.spawn(handle, "exit 9").job_id
        wait_for(lambda: job_ended(str(path), first), what="the job to end")
        second = client.spawn(handle, "exit 3").job_id
        jobs = json.loads((path / "snapshot.json").read_text())["jobs"]
        assert jobs[str(first)]["status"] == [9, "", ""]
        assert str(second) in jobs


def test_a_forgotten_jobs_directory_is_the_next_ones(server: WardenServer) -> None:
    with Client(server.socket_path) as client:
        handle = client.create().handle
        jobs = Path(client.info(handle).container_path) / "jobs"
        assert client.run(handle, "echo once").stdout == b"once\n"
        spare = jobs / ".next"
        wait_for(spare.exists, what="the run's directory, emptied, as the spare")
        assert list(spare.iterdir()) == []
        inode = spare.stat().st_ino
        job_id = client.spawn(handle, "true").job_id
        assert (jobs / str(job_id)).stat().st_ino == inode and not spare.exists()
        client.link(handle, job_id)
        client.destroy(handle)
