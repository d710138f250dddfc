"""Create and destroy leave the host exactly as they found it."""

from __future__ import annotations

from pathlib import Path

from warden.client import Client
from warden.protocol import CreateRequest

from .conftest import TIMEOUT, LinuxServer, host_snapshot, output

BindMount = CreateRequest.BindMount


def test_twenty_cycles_leave_nothing_behind(
    tmp_path: Path, server: LinuxServer, client: Client
) -> None:
    before = host_snapshot(server)
    for i in range(20):
        mount = BindMount(src_path=str(tmp_path), dst_path="/mnt/host", mode=BindMount.RO)
        handle = client.create(bind_mounts=[mount], timeout=TIMEOUT).handle
        job = client.spawn(handle, "sleep 1000 & sleep 1000").job_id
        assert output(client, handle, f"echo {i}") == f"{i}\n"
        if i % 2:
            client.stop(handle, kill=True, timeout=TIMEOUT)
        client.destroy(handle, timeout=TIMEOUT)
        assert job  # its processes went with the container
    after = host_snapshot(server)
    # Other tests' servers may mount things meanwhile; ours must not have.
    before.pop("mount_count"), after.pop("mount_count")
    assert after == before
