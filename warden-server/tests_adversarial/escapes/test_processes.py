"""Processes: seeing, signalling or tracing the host's processes, the server
and another container's, as vcap and as root."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from warden.client import Client

from .conftest import Attempt, HostSecret, LinuxServer, alive, host_pids_of


@pytest.fixture
def neighbour(server: LinuxServer, client: Client,
              fresh: Callable[[], str]) -> Iterator[tuple[int, str]]:  # fmt: skip
    """Another container running a job with a marker name: (its host pid, the marker)."""
    handle = fresh()
    marker = "warden-escapes-neighbour"
    job = client.spawn(handle, f"exec -a {marker} sleep 100000").job_id
    deadline = time.monotonic() + 30
    found: list[int] = []
    while not found and time.monotonic() < deadline:
        for pid in host_pids_of(server, client, handle):
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(marker.encode()):
                    found.append(pid)
        time.sleep(0.02)
    assert found, "the neighbour's job did not start"
    yield found[0], marker
    client.stop(handle, kill=True)
    client.link(handle, job)


def test_only_the_containers_own_processes_are_visible(
    inside: Attempt, host_secret: HostSecret, neighbour: tuple[int, str], server: LinuxServer
) -> None:
    neighbour_pid, neighbour_marker = neighbour
    names = inside.shell("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n'")
    assert host_secret.marker not in names and neighbour_marker not in names
    assert "warden-server" not in names
    # The host's pids mean nothing inside (or, by chance, a process of the
    # container's own: never the host's).
    for pid in (host_secret.process.pid, neighbour_pid, server.pid, 1):
        text = inside.shell(f"cat /proc/{pid}/cmdline 2>/dev/null | tr '\\0' ' '; true")
        assert host_secret.marker not in text and neighbour_marker not in text


def test_host_and_neighbour_processes_cannot_be_signalled(
    inside: Attempt, host_secret: HostSecret, neighbour: tuple[int, str], server: LinuxServer
) -> None:
    neighbour_pid, _ = neighbour
    for pid in (host_secret.process.pid, neighbour_pid, server.pid):
        assert inside.probe("kill", str(pid), "9") == {"kill": "ESRCH"}, pid
        assert inside.probe("pidfd", str(pid)) == {"pidfd_open": "ESRCH"}, pid
    # Everything the job may signal: its own container's processes only.
    inside.shell("kill -KILL -1; true")
    assert alive(host_secret.process.pid) and alive(neighbour_pid) and alive(server.pid)


def test_the_containers_init_cannot_be_traced_or_killed(inside: Attempt) -> None:
    assert inside.probe("ptrace", "1") == {"ptrace-seize": "EPERM"}
    # SIGKILL to one's own pid namespace's init is ignored by the kernel;
    # vcap may not signal root's init at all.
    expected = "EPERM" if inside.user == "vcap" else "OK"
    assert inside.probe("kill", "1", "9") == {"kill": expected}
    assert inside.shell("cat /proc/1/cmdline | tr '\\0' ' '") == "catatonit -P "


def test_no_host_binary_is_reachable_through_proc_exe(inside: Attempt) -> None:
    # The init is the host's catatonit, run through an fd (CVE-2019-5736 is
    # about rewriting such a binary); warden-exec's own process stays outside.
    assert inside.probe("open", "/proc/1/exe", "w") == {"/proc/1/exe": "EACCES"}
    assert inside.probe("open", "/proc/1/exe", "r") == {"/proc/1/exe": "EACCES"}
    assert "warden-exec" not in inside.shell("cat /proc/[0-9]*/comm")
