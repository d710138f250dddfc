"""pytest fixtures shared by the Linux test suites (a suite's conftest imports them).

Each suite defines its own session ``server`` fixture (its name, its
configuration); these build on it: the rootfs, the server's network
namespace, a connected client, and containers destroyed after each test.
``warden.server.testing`` holds the machinery and does not import pytest;
this module is the thin pytest layer over it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from warden.client import Client

from . import testing
from .testing import ContainerFactory, ContainerMaker, LinuxTestServer

__all__ = ["client", "container", "make_container", "netns", "rootfs"]


@pytest.fixture(scope="session")
def rootfs() -> Path:
    """The default rootfs, built once when missing."""
    try:
        return testing.ensure_rootfs()
    except RuntimeError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def netns(server: LinuxTestServer) -> str:
    """The session's private network namespace (the server's, the containers' host)."""
    assert server.netns is not None
    return server.netns


@pytest.fixture
def client(server: LinuxTestServer) -> Iterator[Client]:
    """A client connected to the session's server."""
    with server.client() as made:
        yield made


@pytest.fixture
def make_container(server: LinuxTestServer) -> Iterator[ContainerFactory]:
    """Create containers (keyword arguments of Create); all destroyed afterwards."""
    maker = ContainerMaker(server)
    yield maker
    maker.close()


@pytest.fixture
def container(make_container: ContainerFactory) -> str:
    """One container with the default options."""
    return make_container()
