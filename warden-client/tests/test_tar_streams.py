"""stream_in and stream_out (extensions) of the blocking client, against a
scripted server: the window of chunks in flight, errors in the middle of a
stream, chunks as bytes."""

from __future__ import annotations

import io

import pytest
from conftest import RunningServer

from warden.client import Client, ServerError
from warden.protocol import (
    PingResponse,
    StreamInRequest,
    StreamInResponse,
    StreamOutRequest,
)
from warden.twisted_client.testing import TarStreams


def serving(server: RunningServer, handler: TarStreams) -> TarStreams:
    server.scripted.handler = handler
    return handler


def test_chunks_go_in_a_bounded_window(server: RunningServer, client: Client) -> None:
    handler = serving(server, TarStreams(window=3))
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
    handler = serving(server, TarStreams(fail_at=2))
    with pytest.raises(ServerError) as caught:
        client.stream_in("h", "/dst", io.BytesIO(b"x" * 100000), chunk_size=1000, window=4)
    assert caught.value.message == "stream_in failed: tar: No space left on device"
    assert len(handler.chunks) < 10
    assert (handler.chunks[-1].last, handler.chunks[-1].data) == (True, b"")
    assert client.ping() == PingResponse()  # still in step


def test_stream_out_yields_bytes(server: RunningServer, client: Client) -> None:
    serving(server, TarStreams())
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
