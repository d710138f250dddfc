"""ReconnectingClient across server restarts, on a real unix socket."""

from __future__ import annotations

import os
from typing import Any

from support import ServerTestCase, reactor
from test_connection import failure_of
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from warden.protocol import EchoRequest, PingRequest, PingResponse, StreamResponse
from warden.twisted_client import ClientConnectionError, ReconnectingClient, WardenConnection


class ReconnectingTests(ServerTestCase):
    def make_client(self, where: str | None = None, **options: Any) -> ReconnectingClient:
        options.setdefault("initial_delay", 0.01)
        options.setdefault("max_delay", 0.05)
        client = ReconnectingClient(reactor, where or self.path, **options)
        client.start()
        self.addCleanup(client.close)
        return client

    async def test_calls_wait_for_a_connection(self) -> None:
        client = self.make_client()
        self.assertEqual(await client.ping(), PingResponse())
        self.assertTrue(client.connected)
        self.assertEqual((await client.echo("hi")).message, "hi")
        chunks: list[StreamResponse] = []
        final = await client.stream(["stream", "h1", "1"], chunks.append)
        self.assertEqual(final, [None, None, 1])

    async def test_survives_a_server_restart(self) -> None:
        client = self.make_client()
        connected: list[WardenConnection] = []
        lost: list[Failure] = []
        lost_once: Deferred[None] = Deferred()
        client.on_connected(connected.append)
        client.on_disconnected(lost.append)
        client.on_disconnected(lambda reason: lost_once.called or lost_once.callback(None))
        self.assertEqual(await client.call(["ping"]), "pong")
        first = client.connection

        await self.server.stop()  # the server goes away: connection lost, socket gone
        await lost_once
        self.assertEqual(len(lost), 1)
        self.assertFalse(client.connected)
        waiting = client.call(PingRequest())  # waits for the next connection

        self.server = self.start_server()  # the server comes back on the same path
        self.assertEqual(await waiting, "pong")  # v1 mode was kept across connections
        self.assertEqual(len(connected), 2)
        self.assertIsNot(client.connection, first)
        self.assertEqual(self.server.received, [PingRequest()])

    async def test_a_request_in_flight_when_the_connection_drops_fails(self) -> None:
        client = self.make_client()
        await client.when_connected()
        error = await failure_of(client.call(EchoRequest(message="close")))
        self.assertIsInstance(error, ClientConnectionError)
        # Not sent again: the next request gets the next connection.
        self.assertEqual(await client.ping(), PingResponse())
        self.assertEqual(self.server.received, [EchoRequest(message="close"), PingRequest()])

    async def test_fail_after_failures(self) -> None:
        client = self.make_client(
            os.path.join(self.directory, "absent.sock"), fail_after_failures=2
        )
        error = await failure_of(client.ping())
        self.assertIsInstance(error, ClientConnectionError)
        self.assertIn("cannot connect to", str(error))

    def test_backoff_delays(self) -> None:
        client = ReconnectingClient(reactor, self.path, initial_delay=0.5, factor=2, max_delay=3)
        self.assertEqual([client.retry_delay(n) for n in range(1, 6)], [0.5, 1, 2, 3, 3])

    async def test_close_fails_waiting_requests(self) -> None:
        client = ReconnectingClient(reactor, os.path.join(self.directory, "absent.sock"))
        client.start()
        waiting: Deferred[Any] = client.ping()
        await client.close()
        error = await failure_of(waiting)
        self.assertIsInstance(error, ClientConnectionError)
        self.assertEqual(str(error), "the reconnecting client was closed")
