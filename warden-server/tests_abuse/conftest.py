"""Fixtures for the abuse, fault, bad-input and load tests (as root).

The session's server is ``warden.server.testing.linux_server`` named
``abuse``: started with ``nsenter --net`` in a private network namespace made
for the session, with a depot, socket and ``cgroup_parent`` unique to the
session, and the rootfs built once. Its configuration is chosen so that abuse
stays cheap and bounded:

- ``container_pids_limit`` 256: a fork bomb meets it quickly;
- ``job_output_limit`` 256 KiB: an output flood goes past it at once;
- ``disk_image_size`` 1 GiB (sparse) and ``disk_image_inodes`` 40000: a
  container that fills its disk fills at most that much of the host's.

Every test removes what it made; the session removes the server, its
containers, cgroup parents, directory and namespace.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from warden.client import Client
from warden.server import testing, testing_fixtures
from warden.server.testing import REQUEST_TIMEOUT as TIMEOUT
from warden.server.testing import LinuxTestServer

# The suites' shared fixtures (on this suite's ``server``).
client = testing_fixtures.client
container = testing_fixtures.container
make_container = testing_fixtures.make_container
netns = testing_fixtures.netns
rootfs = testing_fixtures.rootfs


PIDS_LIMIT = 256
OUTPUT_LIMIT = 256 * 1024
IMAGE_SIZE = 1024**3
IMAGE_INODES = 40_000

#: The configuration keys (``server``) of the session's server.
ABUSE_CONFIG = {
    "container_pids_limit": PIDS_LIMIT,
    "job_output_limit": OUTPUT_LIMIT,
    "disk_image_size": IMAGE_SIZE,
    "disk_image_inodes": IMAGE_INODES,
}


@pytest.fixture(scope="session")
def server(rootfs: Path) -> Iterator[LinuxTestServer]:
    """The session's server (tests that restart it leave it running)."""
    with testing.linux_server("abuse", overrides={"server": ABUSE_CONFIG}, rootfs=rootfs) as made:
        yield made


def wait_until(predicate: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
    """Wait until ``predicate()`` is true (a bound on waiting, not a speed check)."""
    testing.wait_until(predicate, timeout, what)


class ServiceProbe:
    """Checks, from a thread, that the server and a container keep serving:
    Ping, then ``echo`` run in the container, over and over."""

    def __init__(self, server: LinuxTestServer, handle: str) -> None:
        self.server = server
        self.handle = handle
        self.rounds = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, daemon=True)

    def _probe(self) -> None:
        with self.server.client() as probe:
            while not self._stop.is_set():
                try:
                    probe.ping(timeout=TIMEOUT)
                    result = probe.run(self.handle, f"echo {self.rounds}", timeout=TIMEOUT)
                    if (result.exit_status, result.stdout) != (0, f"{self.rounds}\n".encode()):
                        self.failures.append(f"run gave {result}")
                except Exception as error:
                    self.failures.append(repr(error))
                    return
                self.rounds += 1

    def __enter__(self) -> ServiceProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(TIMEOUT)

    def check(self, at_least: int = 1) -> None:
        """No probe failed, and at least ``at_least`` rounds ran."""
        assert not self.failures, self.failures
        assert self.rounds >= at_least, f"only {self.rounds} probe rounds"


@contextlib.contextmanager
def keeps_serving(server: LinuxTestServer, handle: str) -> Iterator[ServiceProbe]:
    """Probe ``handle`` while the block runs; fail if the server or it stopped serving."""
    with ServiceProbe(server, handle) as probe:
        yield probe
    probe.check()
    # And after: still serving.
    with server.client() as after:
        after.ping(timeout=TIMEOUT)
        result = after.run(handle, "echo after", timeout=TIMEOUT)
        assert (result.exit_status, result.stdout) == (0, b"after\n")


def connect(server: LinuxTestServer) -> Client:
    """A connected blocking client (the caller closes it)."""
    return server.client()
