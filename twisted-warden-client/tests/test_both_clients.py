"""The blocking and the Twisted client against one server at the same time."""

from __future__ import annotations

from support import ServerTestCase
from twisted.internet.defer import gatherResults
from twisted.internet.threads import deferToThread

from warden.client import Client
from warden.protocol import EchoRequest, StreamRequest


class BothClientsTests(ServerTestCase):
    async def test_both_clients_share_one_server(self) -> None:
        connection = await self.connect()

        def blocking_session() -> list[object]:
            # Runs in a thread while the reactor serves both connections.
            with Client(self.path) as client:
                answers: list[object] = [client.echo(f"b{i}").message for i in range(20)]
                answers.append(list(client.stream("h1", 3))[-1].exit_status)
                answers.append(client.call(["echo", "v1"]))
                return answers

        blocking = deferToThread(blocking_session)
        twisted = gatherResults([connection.echo(f"t{i}") for i in range(20)])
        chunks: list[object] = []
        final = await connection.stream(StreamRequest(handle="slow", job_id=4), chunks.append)

        self.assertEqual(await blocking, [*(f"b{i}" for i in range(20)), 3, "v1"])
        self.assertEqual([r.message for r in await twisted], [f"t{i}" for i in range(20)])
        self.assertEqual((len(chunks), final.exit_status), (4, 4))
        self.assertFalse(connection.v1_mode)  # v1 mode belongs to one client
        echoed = [r.message for r in self.server.received if isinstance(r, EchoRequest)]
        self.assertEqual(
            sorted(echoed),
            sorted([*(f"b{i}" for i in range(20)), "v1", *(f"t{i}" for i in range(20))]),
        )
