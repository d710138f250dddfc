"""What a long-lived connection keeps alive: nothing it no longer needs.

Platform agents hold one connection for days and create and destroy
containers through it. Objects can only be counted inside the server's own
process, so this test runs a real ``Server`` (insecure backend, real unix
socket) on the suite's reactor thread and talks to it with the blocking
client; weak references tell whether destroyed containers are freed.
"""

from __future__ import annotations

import gc
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import in_reactor, insecure_config
from twisted.internet import defer

from warden.client import Client
from warden.server._config import parse_config
from warden.server._server import Server


@pytest.fixture
def in_process(reactor_thread: Any) -> Iterator[Server]:
    base = Path(tempfile.mkdtemp(prefix="wmem-", dir="/tmp"))
    config = parse_config(insecure_config(base))
    server = Server(config, reactor_thread)
    in_reactor(lambda: defer.ensureDeferred(server.start()))
    try:
        yield server
    finally:
        in_reactor(server.drain)
        in_reactor(lambda: server.drained)
        in_reactor(server.health_port.stopListening)
        in_reactor(server.context.jobs.watcher.close)
        shutil.rmtree(base, ignore_errors=True)


def test_destroyed_containers_are_freed_while_their_connection_lives(in_process: Server) -> None:
    socket_path = in_process.config.server.unix_domain_path
    with Client(socket_path) as client:
        handles = [client.create().handle for _ in range(5)]
        for handle in handles:
            client.run(handle, "echo hi")
        refs = [weakref.ref(in_process.registry.get(handle)) for handle in handles]
        kept = client.create().handle  # still alive: must stay so
        for handle in handles:
            client.destroy(handle)

        def alive() -> int:
            gc.collect()
            return sum(ref() is not None for ref in refs)

        assert in_reactor(alive) == 0
        assert list(client.list().handles) == [kept]
        client.destroy(kept)
