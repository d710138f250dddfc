"""The create/destroy soak: ``make soak`` (as root; outside CI and tox's envlist).

1,000 cycles (``WARDEN_SOAK_CYCLES`` to change it) of create, a job now and
then, destroy, against the session's server in its private network
namespace. Afterwards the machine must be as it was: the same mounts,
cgroups, links, routes, firewall rules, loop devices, processes and depot
entries, and a server with as many descriptors and inotify watches as
before. Prints a summary (timings, the server's memory).

Run by hand: ``cd warden-server && ../.venv/bin/pytest -q -s tests_abuse/soak.py``.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from warden.server.testing import REQUEST_TIMEOUT as TIMEOUT
from warden.server.testing import LinuxTestServer, host_snapshot

from .conftest import wait_until
from .test_load import _server_fds

CYCLES = int(os.environ.get("WARDEN_SOAK_CYCLES", "1000"))


def _rss_kib(server: LinuxTestServer) -> int:
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_create_destroy_soak(server: LinuxTestServer) -> None:
    before = host_snapshot(server)
    before.pop("mount_count")
    fds_before, rss_before = _server_fds(server), _rss_kib(server)
    creates: list[float] = []
    destroys: list[float] = []
    started = time.monotonic()
    with server.client() as client:
        for cycle in range(CYCLES):
            t0 = time.monotonic()
            handle = client.create(timeout=TIMEOUT).handle
            t1 = time.monotonic()
            if cycle % 10 == 0:
                result = client.run(handle, f"echo {cycle}", timeout=TIMEOUT)
                assert result.stdout == f"{cycle}\n".encode(), result
            t2 = time.monotonic()
            client.destroy(handle, timeout=TIMEOUT)
            creates.append(t1 - t0)
            destroys.append(time.monotonic() - t2)
            if (cycle + 1) % 100 == 0:
                print(f"  {cycle + 1} cycles, {time.monotonic() - started:.0f} s", flush=True)
    wait_until(lambda: _server_fds(server) == fds_before, "the server's descriptors", 30)
    after = host_snapshot(server)
    after.pop("mount_count")
    rss_after = _rss_kib(server)

    def summary(name: str, values: list[float]) -> str:
        ms = sorted(v * 1000 for v in values)
        return (
            f"{name}: mean {statistics.fmean(ms):.0f} ms, median {ms[len(ms) // 2]:.0f} ms,"
            f" p99 {ms[int(len(ms) * 0.99)]:.0f} ms, max {ms[-1]:.0f} ms"
        )

    print(f"\nsoak: {CYCLES} create/destroy cycles in {time.monotonic() - started:.0f} s")
    print("  " + summary("create", creates))
    print("  " + summary("destroy", destroys))
    fds, watches = fds_before
    print(f"  server: {fds} descriptors and {watches} inotify watches, before and after")
    print(f"  server RSS: {rss_before} KiB before, {rss_after} KiB after")
    leftovers = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    print(f"  host left as it was: {leftovers or 'yes'}")
    assert not leftovers
