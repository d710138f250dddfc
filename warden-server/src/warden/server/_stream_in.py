# -*- test-case-name: tests.test_tar_streams -*-
"""StreamIn (an extension): one open tar extraction per connection.

A stream is a run of StreamInRequest frames, the last with ``last`` set;
each is answered in its turn. The first opens the extraction (the
container starts tar); each chunk is answered once tar's pipe took it, so a
client that pipelines a bounded window of chunks gets back-pressure, and the
connection stops reading while tar's pipe is full. Once a chunk fails, the
rest of that stream, up to its last chunk, is answered with the same error,
so that the client's requests and the answers stay in step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from warden.protocol import StreamInRequest, StreamInResponse

from ._errors import WardenError
from ._tar import TarIn

__all__ = ["OpenStreamIn"]


class OpenStreamIn:
    """The stream a connection is sending: where it goes, its tar, or its error."""

    def __init__(self, handle: str, dst_path: str) -> None:
        self.handle = handle
        self.dst_path = dst_path
        self.tar: TarIn | None = None
        self.error: str | None = None

    async def open(self, start: Callable[[], Awaitable[TarIn]]) -> None:
        """Start tar with ``start``; a failure is this stream's error from now on."""
        try:
            self.tar = await start()
        except WardenError as error:
            self.error = error.message

    async def feed(self, request: StreamInRequest) -> StreamInResponse:
        """Serve one chunk (the first included); WardenError for a failed stream."""
        if self.error is None and (request.handle, request.dst_path) != (
            self.handle,
            self.dst_path,
        ):
            self.fail(
                f"stream_in failed: a stream into {self.dst_path} of {self.handle} is open on "
                "this connection; send its chunks up to the last one first"
            )
        if self.error is not None:
            raise WardenError(self.error)
        assert self.tar is not None
        try:
            if request.data:
                await self.tar.write(request.data)
            if request.last:
                await self.tar.finish()
                return StreamInResponse(done=True)
        except WardenError as error:
            self.fail(error.message)
            raise
        return StreamInResponse()

    def fail(self, message: str) -> None:
        """Record the stream's error and stop its tar."""
        self.error = message
        self.abort()

    def abort(self) -> None:
        """Stop tar (the connection went away, or the stream failed)."""
        if self.tar is not None:
            self.tar.abort()
