"""Fixtures for the Linux backend's tests: a real server making real containers.

Run as root. The session's server is ``warden.server.testing.linux_server``
named ``test``: it runs in a private network namespace made for the session
(entered with ``nsenter --net``; ``ip netns exec`` would hide the cgroup
hierarchies), with its depot, socket, configuration and log under
``/tmp/warden-test-<token>/`` and the cgroup parent ``warden-test-<token>``.
The rootfs (``/var/lib/warden/rootfs``) is built once when missing.

At the end every container left is destroyed, the server stopped, the
cgroup parent directories, the base directory and the namespace removed.

The helpers the test modules use (``output``, ``run``, ``host_snapshot`` ...)
live in ``warden.server.testing``; the names below stay importable from here
for tests written against the earlier fixtures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from warden.client import Client
from warden.server import testing, testing_fixtures
from warden.server.testing import (
    DEFAULT_ROOTFS,
    REQUEST_TIMEOUT,
    LinuxTestServer,
    container_id,
    host_processes,
    host_snapshot,
    output,
    private_netns,
    run,
    sh,
)

# The suites' shared fixtures (on this suite's ``server``).
client = testing_fixtures.client
container = testing_fixtures.container
make_container = testing_fixtures.make_container
netns = testing_fixtures.netns
rootfs = testing_fixtures.rootfs


__all__ = [
    "ROOTFS",
    "TIMEOUT",
    "TOKEN",
    "ContainerFactory",
    "LinuxServer",
    "container_id",
    "host_processes",
    "host_snapshot",
    "init_pid",
    "output",
    "private_netns",
    "run",
    "running_server",
    "sh",
]

ROOTFS = DEFAULT_ROOTFS
#: Seconds a single request may take before a test calls it hung.
TIMEOUT = REQUEST_TIMEOUT
TOKEN = testing.unique_token()
#: Kept for tests written against the earlier fixtures.
LinuxServer = LinuxTestServer
ContainerFactory = Callable[..., str]


def init_pid(server: LinuxTestServer, client: Client, handle: str) -> int:
    """Host pid of a container's init (``server`` kept for the earlier signature)."""
    return testing.init_pid(client, handle)


@contextlib.contextmanager
def running_server(
    base: Path, netns: str, rootfs: Path, *, name: str = "test",
    server_config: dict[str, Any] | None = None,
) -> Iterator[LinuxTestServer]:  # fmt: skip
    """A started server in ``base`` (the earlier fixtures' signature): afterwards
    stopped, its containers destroyed, its cgroup parents and ``base`` removed."""
    base.mkdir(exist_ok=True)
    server = LinuxTestServer(
        base, netns, cgroup_parent=f"warden-{name}-{TOKEN}", rootfs=rootfs,
        overrides={"server": server_config or {}},
    )  # fmt: skip
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def server(rootfs: Path) -> Iterator[LinuxTestServer]:
    """The session's server (tests that restart it leave it running)."""
    with testing.linux_server("test", rootfs=rootfs, token=TOKEN) as made:
        yield made
