"""Fixtures: a real warden-server process on a real unix socket, and both clients.

Every server runs the insecure backend in a fresh temporary directory (short,
under /tmp, because unix socket paths are limited to 108 bytes). At teardown
the server is stopped, every container left in its depot is destroyed with
the backend's own ``destroy.sh`` (which kills its processes) and the directory
is removed.

The Twisted client runs on a reactor in a background thread (a reactor cannot
be restarted, so one serves the whole session); tests call it through
``blockingCallFromThread``. Both clients are wrapped in the same small
interface so that one test body drives either.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import defer
from twisted.internet import reactor as _reactor
from twisted.internet.threads import blockingCallFromThread

from warden.client import Client
from warden.protocol import StreamRequest
from warden.server import testing
from warden.server.testing import InsecureTestServer
from warden.twisted_client import connect

REPO = Path(__file__).resolve().parents[2]
ROOT_SCRIPTS = REPO / "root-scripts"
#: Seconds any single request may take in a test before we call it hung.
REQUEST_TIMEOUT = 60.0

reactor: Any = _reactor


def insecure_config(base: Path) -> dict[str, Any]:
    """The suite's configuration: the insecure backend, everything under ``base``."""
    return testing.insecure_config(base, ROOT_SCRIPTS)


class WardenServer(InsecureTestServer):
    """A warden-server process with the insecure backend, its own socket, depot and log."""


@pytest.fixture
def make_server() -> Iterator[Callable[..., WardenServer]]:
    """Make (not start) servers; each is cleaned up after the test."""
    made: list[WardenServer] = []

    def make(**overrides: Any) -> WardenServer:
        base = Path(tempfile.mkdtemp(prefix="wsrv-", dir="/tmp"))
        server = WardenServer(base, overrides)
        made.append(server)
        return server

    yield make
    for server in made:
        server.cleanup()


@pytest.fixture(scope="module")
def shared_server() -> Iterator[WardenServer]:
    """One started server for a whole module (tests that leave no state behind)."""
    base = Path(tempfile.mkdtemp(prefix="wsrv-", dir="/tmp"))
    server = WardenServer(base).start()
    yield server
    server.cleanup()


@pytest.fixture
def shared_client(
    shared_server: WardenServer, connect_client: Callable[[WardenServer], AnyClient]
) -> AnyClient:
    """A client of each kind to the module's shared server."""
    return connect_client(shared_server)


@pytest.fixture
def server(make_server: Callable[..., WardenServer]) -> WardenServer:
    """A started server with the default test configuration."""
    return make_server().start()


# -- the Twisted reactor, in a thread for the whole session --


@pytest.fixture(scope="session")
def reactor_thread() -> Iterator[Any]:
    thread = threading.Thread(
        target=reactor.run, kwargs={"installSignalHandlers": False}, daemon=True
    )
    thread.start()
    while not reactor.running:
        time.sleep(0.01)
    yield reactor
    reactor.callFromThread(reactor.stop)
    thread.join(10)


def in_reactor(
    function: Callable[..., Any], *args: Any, timeout: float = REQUEST_TIMEOUT, **kwargs: Any
) -> Any:
    """Run ``function`` in the reactor thread, wait for its (Deferred) result."""

    def call() -> Any:
        d = defer.maybeDeferred(function, *args, **kwargs)
        return d.addTimeout(timeout, reactor)

    return blockingCallFromThread(reactor, call)


# -- one interface over both clients --


class BlockingClient:
    """``warden.client.Client`` with a timeout on every request."""

    kind = "blocking"

    def __init__(self, socket_path: str) -> None:
        self.client = Client(socket_path)
        self.client.connect()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", REQUEST_TIMEOUT)
            return method(*args, **kwargs)

        return call

    def stream_all(self, handle: str, job_id: int) -> list[Any]:
        """Every frame of a Stream, the final one (with exit_status) last."""
        return list(self.client.stream(handle, job_id))

    def tar_in(self, handle: str, dst_path: str, fileobj: Any, **options: Any) -> Any:
        """StreamIn: the tar stream read from ``fileobj``, extracted under ``dst_path``."""
        return self.client.stream_in(handle, dst_path, fileobj, **options)

    def tar_out(self, handle: str, src_path: str) -> bytes:
        """StreamOut: the whole tar stream of ``src_path``."""
        return b"".join(self.client.stream_out(handle, src_path))

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


class TwistedClient:
    """``warden.twisted_client`` driven from the test thread."""

    kind = "twisted"

    def __init__(self, socket_path: str) -> None:
        self.connection = in_reactor(connect, reactor, socket_path)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.connection, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return in_reactor(method, *args, **kwargs)

        return call

    def stream_all(self, handle: str, job_id: int) -> list[Any]:
        frames: list[Any] = []
        final = in_reactor(
            self.connection.stream, StreamRequest(handle=handle, job_id=job_id), frames.append
        )
        return [*frames, final]

    def tar_in(self, handle: str, dst_path: str, fileobj: Any, **options: Any) -> Any:
        return in_reactor(self.connection.stream_in, handle, dst_path, fileobj, **options)

    def tar_out(self, handle: str, src_path: str) -> bytes:
        chunks: list[bytes] = []
        final = in_reactor(self.connection.stream_out, handle, src_path, chunks.append)
        assert final.done
        return b"".join(chunks)

    def close(self) -> None:
        if self.connection.connected:
            in_reactor(self.connection.disconnect)


AnyClient = BlockingClient | TwistedClient


@pytest.fixture(params=["blocking", "twisted"])
def client_kind(request: pytest.FixtureRequest, reactor_thread: Any) -> str:
    return str(request.param)


@pytest.fixture
def connect_client(client_kind: str) -> Iterator[Callable[[WardenServer], AnyClient]]:
    """Connect clients of this test's kind; all are closed afterwards."""
    opened: list[AnyClient] = []

    def open_client(server: WardenServer) -> AnyClient:
        cls = BlockingClient if client_kind == "blocking" else TwistedClient
        made = cls(server.socket_path)
        opened.append(made)
        return made

    yield open_client
    for made in opened:
        with contextlib.suppress(Exception):
            made.close()


@pytest.fixture
def client(server: WardenServer, connect_client: Callable[[WardenServer], AnyClient]) -> AnyClient:
    """A client of each kind (the test runs once per kind) to a started server."""
    return connect_client(server)


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Wait until ``predicate()`` holds (a bound on waiting, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def process_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def job_ended(container_path: str, job_id: int) -> bool:
    """Whether a job has ended (its wrapper wrote its exit status). Info's
    job_ids cannot tell: it lists every job that can still be linked."""
    return os.path.exists(os.path.join(container_path, "jobs", str(job_id), "exit_status"))
