"""``warden.protocol.twisted_send`` against the pinned Twisted's real unix transports.

``send_now`` reads private fields of Twisted's socket transports; if a
Twisted release renames them, these tests fail (``send_now`` itself would
quietly fall back to ``write``, and every frame would cost a reactor round
again). ``read_plainly`` relies on the unix transports' classes and the
socket transports' ``recv`` read: the same goes for it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from support import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase

from warden.protocol.twisted_send import idle, read_plainly, send_now


class Collect(Protocol):
    """Keeps what it receives; ``got(n)`` fires once n bytes have come."""

    def __init__(self) -> None:
        self.data = b""
        self.waiting: tuple[int, Deferred[bytes]] | None = None

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        self._check()

    def got(self, size: int) -> Deferred[bytes]:
        self.waiting = (size, Deferred())
        waiter = self.waiting[1]
        self._check()
        return waiter

    def _check(self) -> None:
        if self.waiting is not None and len(self.data) >= self.waiting[0]:
            waiter, self.waiting = self.waiting[1], None
            waiter.callback(self.data)


class SendNowTests(TestCase):
    async def connected(self) -> tuple[Any, Collect]:
        """A client transport and the server side's collector, on a fresh unix socket."""
        directory = tempfile.mkdtemp(prefix="warden-sn-", dir="/tmp")
        self.addCleanup(shutil.rmtree, directory, True)
        path = os.path.join(directory, "s.sock")
        collector = Collect()
        port = reactor.listenUNIX(path, Factory.forProtocol(lambda: collector))
        self.addCleanup(port.stopListening)
        made: Deferred[Protocol] = Deferred()

        class Client(Protocol):
            def connectionMade(self) -> None:
                made.callback(self)

        from twisted.internet.endpoints import UNIXClientEndpoint, connectProtocol

        client = Client()
        await connectProtocol(UNIXClientEndpoint(reactor, path), client)
        await made
        self.addCleanup(client.transport.loseConnection)
        return client.transport, collector

    async def test_an_idle_transport_sends_at_once(self) -> None:
        transport, collector = await self.connected()
        # The fields it reads are there (AttributeError otherwise) and say idle.
        self.assertTrue(idle(transport))
        self.assertEqual(send_now(transport, b"hello"), 5)
        self.assertEqual(await collector.got(5), b"hello")

    async def test_nothing_is_sent_ahead_of_queued_bytes(self) -> None:
        transport, collector = await self.connected()
        transport.write(b"first")  # queued until the reactor's next round
        self.assertFalse(idle(transport))
        self.assertEqual(send_now(transport, b"second"), 0)
        transport.write(b"second")
        self.assertEqual(await collector.got(11), b"firstsecond")
        # Once written out, the transport is idle again.
        self.assertTrue(idle(transport))

    async def test_a_closing_transport_is_not_idle(self) -> None:
        transport, _ = await self.connected()
        transport.loseConnection()
        self.assertFalse(idle(transport))
        self.assertEqual(send_now(transport, b"late"), 0)

    def test_anything_else_sends_nothing(self) -> None:
        self.assertEqual(send_now(object(), b"x"), 0)

    async def test_both_ends_read_with_recv_and_still_receive(self) -> None:
        transport, collector = await self.connected()
        transport.write(b">")  # the server side is there once this arrived
        await collector.got(1)
        server_side = collector.transport
        self.assertTrue(read_plainly(transport))
        self.assertTrue(read_plainly(server_side))
        calls: list[int] = []
        sock = server_side.socket
        recv, recvmsg = sock.recv, sock.recvmsg

        class Watched:
            """The server side's socket, counting reads by kind."""

            def __getattr__(self, name: str) -> Any:
                return getattr(sock, name)

            def recv(self, size: int) -> bytes:
                calls.append(0)
                return recv(size)

            def recvmsg(self, *args: Any) -> Any:
                calls.append(1)
                return recvmsg(*args)

        server_side.socket = Watched()
        self.addCleanup(setattr, server_side, "socket", sock)
        transport.write(b"ping")
        self.assertEqual(await collector.got(5), b">ping")
        self.assertEqual(set(calls), {0})
        # And the client's end gets the answer through its own recv.
        answered = Collect()
        transport.protocol.dataReceived = answered.dataReceived
        server_side.write(b"pong")
        self.assertEqual(await answered.got(4), b"pong")

    def test_anything_else_is_left_as_it_is(self) -> None:
        self.assertFalse(read_plainly(object()))
