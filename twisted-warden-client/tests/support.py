"""A trial TestCase with a scripted warden server on a fresh unix socket."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.trial.unittest import TestCase

from warden.twisted_client import WardenConnection, connect
from warden.twisted_client.testing import ScriptedServer

reactor: Any = _reactor


class ServerTestCase(TestCase):
    """Each test gets ``self.server`` listening on ``self.path``; both are removed after."""

    def setUp(self) -> None:
        # Short, unique, under /tmp: unix socket paths are limited to 107 bytes.
        self.directory = tempfile.mkdtemp(prefix="warden-tc-test-", dir="/tmp")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.path = os.path.join(self.directory, "warden.sock")
        self.server = self.start_server()

    def start_server(self) -> ScriptedServer:
        """A scripted server on ``self.path``, stopped at the end of the test."""
        server = ScriptedServer()
        server.listen(reactor, self.path)
        self.addCleanup(server.stop)
        return server

    async def connect(self) -> WardenConnection:
        """A connection to the server, closed at the end of the test."""
        connection = await connect(reactor, self.path)
        self.addCleanup(connection.disconnect)
        return connection
