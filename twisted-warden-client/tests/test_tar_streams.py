"""stream_in and stream_out (extensions) against a scripted server: the
window of chunks in flight, errors in the middle of a stream, chunk delivery."""

from __future__ import annotations

import io

from support import ServerTestCase, reactor

from warden.protocol import (
    PingResponse,
    StreamInRequest,
    StreamInResponse,
    StreamOutRequest,
    StreamOutResponse,
)
from warden.twisted_client import ServerError, WardenConnection
from warden.twisted_client.testing import TarStreams


class TarStreamTests(ServerTestCase):
    def serve(self, handler: TarStreams) -> None:
        self.server.handler = handler

    async def test_chunks_go_in_a_bounded_window(self) -> None:
        handler = TarStreams(window=3)
        self.serve(handler)
        connection: WardenConnection = await self.connect()
        data = bytes(range(256)) * 100  # 25600 bytes: 13 chunks of 2000
        final = await connection.stream_in("h", "/dst", io.BytesIO(data), chunk_size=2000, window=3)
        self.assertEqual(final, StreamInResponse(done=True))
        self.assertEqual(b"".join(c.data for c in handler.chunks), data)
        self.assertEqual([c.last for c in handler.chunks], [False] * 12 + [True])
        self.assertEqual({(c.handle, c.dst_path) for c in handler.chunks}, {("h", "/dst")})
        self.assertEqual(max(handler.in_flight), 3)  # the window is used, never more
        self.assertEqual(await connection.ping(), PingResponse())

    async def test_an_error_ends_the_stream_early_and_is_raised_once(self) -> None:
        handler = TarStreams(fail_at=2)
        self.serve(handler)
        connection = await self.connect()
        data = b"x" * 100000
        with self.assertRaises(ServerError) as caught:
            await connection.stream_in("h", "/dst", io.BytesIO(data), chunk_size=1000, window=4)
        self.assertEqual(caught.exception.message, "stream_in failed: tar: No space left on device")
        # The client stopped sending data and ended the stream with an empty last chunk.
        self.assertLess(len(handler.chunks), 10)
        self.assertEqual((handler.chunks[-1].last, handler.chunks[-1].data), (True, b""))
        self.assertEqual(await connection.ping(), PingResponse())  # still in step

    async def test_stream_out_delivers_bytes_then_done(self) -> None:
        self.serve(TarStreams())
        connection = await self.connect()
        chunks: list[bytes] = []
        final = await connection.stream_out("h", "/src", chunks.append)
        self.assertEqual(
            (chunks, final), ([b"one", b"two", b"three"], StreamOutResponse(done=True))
        )
        with self.assertRaises(ServerError):
            await connection.stream_out("h", "/none", chunks.append)
        self.assertEqual(await connection.ping(), PingResponse())

    async def test_the_reconnecting_client_has_both(self) -> None:
        from warden.twisted_client import ReconnectingClient

        self.serve(TarStreams())
        client = ReconnectingClient(reactor, self.path)
        client.start()
        self.addCleanup(client.close)
        chunks: list[bytes] = []
        await client.stream_out("h", "/src", chunks.append)
        self.assertEqual(chunks, [b"one", b"two", b"three"])
        answer = await client.stream_in("h", "/dst", io.BytesIO(b"abc"))
        self.assertEqual(answer, StreamInResponse(done=True))

    async def test_many_frame_requests_are_refused_by_call(self) -> None:
        self.serve(TarStreams())
        connection = await self.connect()
        for request in (StreamInRequest(handle="h", dst_path="/d"),
                        StreamOutRequest(handle="h", src_path="/s")):  # fmt: skip
            with self.assertRaises(TypeError):
                await connection.call(request)
