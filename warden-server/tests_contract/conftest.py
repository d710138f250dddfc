"""Fixtures for the backend contract: every test runs against a server of each
backend, the insecure one and the Linux one, so their behaviour cannot drift.

Both servers come from ``warden.server.testing`` and live for the session:
the insecure one in a fresh directory under /tmp, the Linux one (root) in a
private network namespace made for the session, with its own depot, socket
and cgroup parent. Everything is removed at the end.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from warden.client import Client
from warden.server import testing
from warden.server.testing import ContainerFactory, ContainerMaker, ServerProcess

#: Where a job may write and where copies go: the insecure backend's
#: container root is a plain directory; the Linux one's is the vcap user's home.
HOMES = {"insecure": "/", "linux": "/home/vcap"}


@dataclass(frozen=True)
class Backend:
    """A running server of one backend, and what the contract needs to know of it."""

    kind: str
    server: ServerProcess
    #: A directory of the container the job user owns, the jobs' working directory.
    home: str


@pytest.fixture(scope="session", params=["insecure", "linux"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A running server of each backend (the contract tests run against both)."""
    kind = str(request.param)
    made: contextlib.AbstractContextManager[ServerProcess]
    if kind == "insecure":
        made = testing.insecure_server()
    else:
        try:
            testing.ensure_rootfs()
        except RuntimeError as error:
            pytest.fail(f"the Linux half of the contract: {error}")
        made = testing.linux_server("contract")
    with made as server:
        yield Backend(kind, server, HOMES[kind])


@pytest.fixture
def client(backend: Backend) -> Iterator[Client]:
    with backend.server.client() as made:
        yield made


@pytest.fixture
def make_container(backend: Backend) -> Iterator[ContainerFactory]:
    """Create containers (keyword arguments of Create); all destroyed afterwards."""
    maker = ContainerMaker(backend.server)
    yield maker
    maker.close()


@pytest.fixture
def container(make_container: ContainerFactory) -> str:
    """One container with the default options."""
    return make_container()
