# -*- test-case-name: tests.test_tar_streams -*-
"""``TarStreams``: a handler for testing a client's stream_in and stream_out."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred

from warden.protocol import (
    PingRequest,
    PingResponse,
    Request,
    StreamInRequest,
    StreamInResponse,
    StreamOutRequest,
    StreamOutResponse,
)

from ._scripted_server import ServerConnection

__all__ = ["TarStreams"]


class TarStreams:
    """Answers Ping; StreamOut with three chunks (``one``, ``two``, ``three``)
    then done, or an error for ``/none``; StreamIn chunks a little later,
    failing from chunk ``fail_at`` on.

    Each StreamIn chunk's answer is held until the client has ``window``
    chunks in flight (or has sent its last one), so ``in_flight`` records
    exactly what the client's window allows; ``chunks`` the chunks received.
    """

    def __init__(self, fail_at: int | None = None, window: int = 4) -> None:
        self.fail_at = fail_at
        self.window = window
        self.failed = False
        self.chunks: list[StreamInRequest] = []
        self.in_flight: list[int] = []

    def __call__(self, conn: ServerConnection, request: Request) -> Deferred[Any] | None:
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
        if not isinstance(request, StreamInRequest):
            conn.error(f"scripted server: no answer for {type(request).__name__}")
            return None
        answered = len(self.chunks)
        self.chunks.append(request)

        def streamed() -> int:
            return sum(isinstance(r, StreamInRequest) for r in conn.received)

        def answer() -> Deferred[Any] | None:
            # Held until the client has filled its window (or sent its last
            # chunk): then what is in flight is exactly what it allows.
            ended = any(isinstance(r, StreamInRequest) and r.last for r in conn.received)
            if not ended and streamed() < answered + self.window and not self.failed:
                return conn.later(0.001, answer)
            self.in_flight.append(streamed() - answered)
            if self.fail_at is not None and answered >= self.fail_at:
                self.failed = True
                conn.error("stream_in failed: tar: No space left on device")
            else:
                conn.respond(StreamInResponse(done=request.last))
            return None

        return conn.later(0.001, answer)
