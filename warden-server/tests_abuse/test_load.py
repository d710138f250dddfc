"""Load: 100 clients at once, each sending 100 mixed requests against 20
containers. Every request is answered correctly, and afterwards the server
holds no more descriptors or inotify watches than before and the host is as
it was."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from warden.client import Client
from warden.protocol import StreamRequest
from warden.server.testing import REQUEST_TIMEOUT as TIMEOUT
from warden.server.testing import LinuxTestServer, host_snapshot

from .conftest import wait_until

CLIENTS = 100
REQUESTS = 100
CONTAINERS = 20


def _server_fds(server: LinuxTestServer) -> tuple[int, int]:
    """(open descriptors, inotify watches) of the server process."""
    assert server.process is not None
    fd_dir = Path(f"/proc/{server.process.pid}/fd")
    fds = list(fd_dir.iterdir())
    watches = 0
    for fd in fds:
        try:
            info = Path(f"/proc/{server.process.pid}/fdinfo/{fd.name}").read_text()
        except OSError:
            continue
        watches += info.count("inotify wd:")
    return len(fds), watches


def _mixed(client: Client, handles: list[str], rng: random.Random, n: int) -> None:
    """One request (two for spawn and link) of a mix weighted like a busy day."""
    handle = rng.choice(handles)
    roll = rng.random()
    if roll < 0.2:
        client.ping(timeout=TIMEOUT)
    elif roll < 0.3:
        assert handle in client.list(timeout=TIMEOUT).handles
    elif roll < 0.45:
        assert client.echo(f"echo {n}", timeout=TIMEOUT).message == f"echo {n}"
    elif roll < 0.55:
        assert client.info(handle, timeout=TIMEOUT).state == "active"
    elif roll < 0.75:
        result = client.run(handle, f"echo {n}; echo err >&2", timeout=TIMEOUT)
        expected = (0, f"{n}\n".encode(), b"err\n")
        assert (result.exit_status, result.stdout, result.stderr) == expected
    elif roll < 0.85:
        job = client.spawn(handle, f"echo {n}; exit 3", timeout=TIMEOUT).job_id
        result = client.link(handle, job, timeout=TIMEOUT)
        assert (result.exit_status, result.stdout) == (3, f"{n}\n".encode())
    elif roll < 0.93:
        job = client.spawn(handle, "echo a; echo b", timeout=TIMEOUT).job_id
        frames = list(client.stream(StreamRequest(handle=handle, job_id=job)))
        assert b"".join(f.data for f in frames if f.name == "stdout") == b"a\nb\n"
        assert frames[-1].exit_status == 0
    else:
        shares = rng.choice([128, 256, 512, 1024])
        assert client.limit_cpu(handle, limit_in_shares=shares).limit_in_shares == shares


def test_hundred_clients_hundred_requests_twenty_containers(server: LinuxTestServer) -> None:
    before = host_snapshot(server)
    before.pop("mount_count")
    fds_before = _server_fds(server)
    with server.client() as admin:
        handles = [admin.create(timeout=TIMEOUT).handle for _ in range(CONTAINERS)]
    errors: list[str] = []
    start = threading.Barrier(CLIENTS)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with server.client() as client:
                start.wait(TIMEOUT)
                for n in range(REQUESTS):
                    _mixed(client, handles, rng, seed * REQUESTS + n)
        except Exception as error:
            errors.append(f"client {seed}: {error!r}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:10]
    with server.client() as admin:
        for handle in handles:
            info = admin.info(handle, timeout=TIMEOUT)
            assert (info.state, list(info.events), list(info.job_ids)) == ("active", [], [])
            admin.destroy(handle, timeout=TIMEOUT)
    wait_until(lambda: _server_fds(server) == fds_before, "the server's descriptors", 30)
    after = host_snapshot(server)
    after.pop("mount_count")
    assert after == before
