"""stream_in and stream_out (extensions) of the blocking client, against a
scripted server: the window of chunks in flight, errors in the middle of a
stream, chunks as bytes."""

from __future__ import annotations

import io
from typing import Any

import pytest
from conftest import RunningServer, reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from warden.client import Client, ServerError
from warden.protocol import (
    PingRequest,
    PingResponse,
    StreamInRequest,
    StreamInResponse,
    StreamOutRequest,
    StreamOutResponse,
)


class TarServer:
    """Answers StreamIn chunks a little later, failing from chunk ``fail_at``
    on; StreamOut with three chunks then done, or an error for ``/none``."""

    def __init__(self, fail_at: int | None = None, window: int = 4) -> None:
        self.fail_at = fail_at
        self.window = window
        self.failed = False
        self.chunks: list[StreamInRequest] = []
        self.in_flight: list[int] = []

    def __call__(self, conn: Any, request: Any) -> Deferred[Any] | None:
        if isinstance(request, PingRequest):
            conn.respond(PingResponse())
            return None
        if isinstance(request, StreamOutRequest):
            if request.src_path == "/none":
                conn.error("stream_out failed: no such file or directory in the container: /none")
                return None
            for part in (b"one", b"two", b"three"):
                conn.respond(StreamOutResponse(data=part))
            conn.respond(StreamOutResponse(done=True))
            return None
        answered = len(self.chunks)
        self.chunks.append(request)

        def streamed() -> int:
            return sum(isinstance(r, StreamInRequest) for r in conn.received)

        def answer() -> Deferred[None] | None:
            # Held until the client has filled its window (or sent its last
            # chunk): then what is in flight is exactly what it allows.
            ended = any(isinstance(r, StreamInRequest) and r.last for r in conn.received)
            if not ended and streamed() < answered + self.window and not self.failed:
                return deferLater(reactor, 0.001, answer)
            self.in_flight.append(streamed() - answered)
            if self.fail_at is not None and answered >= self.fail_at:
                self.failed = True
                conn.error("stream_in failed: tar: No space left on device")
            else:
                conn.respond(StreamInResponse(done=request.last))
            return None

        return deferLater(reactor, 0.001, answer)


def serving(server: RunningServer, handler: TarServer) -> TarServer:
    server.scripted.handler = handler
    return handler


def test_chunks_go_in_a_bounded_window(server: RunningServer, client: Client) -> None:
    handler = serving(server, TarServer(window=3))
    data = bytes(range(256)) * 100  # 13 chunks of 2000 bytes
    final = client.stream_in("h", "/dst", io.BytesIO(data), chunk_size=2000, window=3)
    assert final == StreamInResponse(done=True)
    assert b"".join(c.data for c in handler.chunks) == data
    assert [c.last for c in handler.chunks] == [False] * 12 + [True]
    assert max(handler.in_flight) == 3  # the window is used, never more
    assert client.ping() == PingResponse()


def test_an_error_ends_the_stream_early_and_is_raised_once(
    server: RunningServer, client: Client
) -> None:
    handler = serving(server, TarServer(fail_at=2))
    with pytest.raises(ServerError) as caught:
        client.stream_in("h", "/dst", io.BytesIO(b"x" * 100000), chunk_size=1000, window=4)
    assert caught.value.message == "stream_in failed: tar: No space left on device"
    assert len(handler.chunks) < 10
    assert (handler.chunks[-1].last, handler.chunks[-1].data) == (True, b"")
    assert client.ping() == PingResponse()  # still in step


def test_stream_out_yields_bytes(server: RunningServer, client: Client) -> None:
    serving(server, TarServer())
    assert list(client.stream_out("h", "/src")) == [b"one", b"two", b"three"]
    with pytest.raises(ServerError):
        list(client.stream_out("h", "/none"))
    assert client.ping() == PingResponse()
    # Leaving early disconnects: the rest would be taken for later answers.
    chunks = client.stream_out("h", "/src")
    assert next(chunks) == b"one"
    chunks.close()
    assert not client.connected


def test_call_refuses_many_frame_requests(client: Client) -> None:
    for request in (
        StreamInRequest(handle="h", dst_path="/d"),
        StreamOutRequest(handle="h", src_path="/s"),
    ):
        with pytest.raises(TypeError):
            client.call(request)
