"""A scripted Twisted warden server on a real unix socket, its reactor in a thread.

The reactor runs for the whole session in a daemon thread (a reactor cannot
be restarted); each test gets its own server on its own socket, stopped and
removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from twisted.internet import reactor as _reactor
from twisted.internet.threads import blockingCallFromThread

from warden.client import Client
from warden.twisted_client.testing import ScriptedServer

reactor: Any = _reactor


@dataclass
class RunningServer:
    """A scripted server listening on ``path``."""

    scripted: ScriptedServer
    path: str

    def received(self) -> list[Any]:
        """The requests the server has decoded so far, in order."""
        return blockingCallFromThread(reactor, lambda: list(self.scripted.received))

    def drop_connections(self) -> None:
        """Abort every connection the server holds."""
        blockingCallFromThread(reactor, self.scripted.drop_connections)


@pytest.fixture(scope="session")
def reactor_thread() -> Iterator[None]:
    thread = threading.Thread(
        target=reactor.run, kwargs={"installSignalHandlers": False}, daemon=True
    )
    thread.start()
    yield
    reactor.callFromThread(reactor.stop)
    thread.join(30)


@pytest.fixture
def socket_dir() -> Iterator[str]:
    # Short, unique, under /tmp: unix socket paths are limited to 107 bytes.
    directory = tempfile.mkdtemp(prefix="warden-client-test-", dir="/tmp")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def server(reactor_thread: None, socket_dir: str) -> Iterator[RunningServer]:
    path = os.path.join(socket_dir, "warden.sock")
    scripted = ScriptedServer()
    blockingCallFromThread(reactor, scripted.listen, reactor, path)
    yield RunningServer(scripted, path)
    blockingCallFromThread(reactor, scripted.stop)


@pytest.fixture
def client(server: RunningServer) -> Iterator[Client]:
    with Client(server.path) as connected:
        yield connected
