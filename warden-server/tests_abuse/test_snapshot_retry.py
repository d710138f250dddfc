"""A snapshot that cannot be written (a full depot, say) does not undo the
change that needed it, and is written as soon as it can be.

The insecure backend is enough here (nothing Linux-specific is involved);
the snapshot is held back on purpose by putting a file where its temporary
directory should be. ``test_depot_full.py`` fills a real disk.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from warden.client import Client
from warden.server.testing import InsecureTestServer, insecure_server

from .conftest import wait_until

TIMEOUT = 60.0


@pytest.fixture
def server() -> Iterator[InsecureTestServer]:
    """An insecure server of its own (the module's Linux one is not needed)."""
    with insecure_server() as made:
        yield made


def test_snapshot_written_once_it_can_be(server: InsecureTestServer) -> None:
    with Client(server.socket_path) as client:
        handle = client.create(timeout=TIMEOUT).handle
        path = Path(client.info(handle, timeout=TIMEOUT).container_path)
        snapshot, tmp = path / "snapshot.json", path / "tmp"
        shutil.rmtree(tmp)
        tmp.write_text("")  # the snapshot's temporary file cannot be made
        # Spawn writes the snapshot before it answers (a Run does not: its job
        # is answered at its end and forgotten).
        job_id = client.spawn(handle, "echo done", timeout=TIMEOUT).job_id
        result = client.link(handle, job_id, timeout=TIMEOUT)
        # The job ran and was answered, though its snapshot could not be written.
        assert (result.exit_status, result.stdout) == (0, b"done\n")
        assert not snapshot.exists()
        assert "cannot write the snapshot" in server.log()
        tmp.unlink()
        tmp.mkdir()
        wait_until(snapshot.exists, "the snapshot to be written", timeout=TIMEOUT)
    # And the container survives a crash of the server.
    server.kill()
    server.start()
    with Client(server.socket_path) as client:
        assert client.list(timeout=TIMEOUT).handles == [handle]
        client.destroy(handle, timeout=TIMEOUT)
