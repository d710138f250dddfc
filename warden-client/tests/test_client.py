"""The blocking client against a scripted Twisted server on a real unix socket."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from conftest import RunningServer

from warden.client import (
    Client,
    ClientConnectionError,
    ClientError,
    ClientTimeoutError,
    ServerError,
)
from warden.protocol import (
    CreateRequest,
    EchoRequest,
    EchoResponse,
    ErrorResponse,
    LimitBandwidthRequest,
    LinkRequest,
    NetOutRequest,
    PingRequest,
    PingResponse,
    ProtocolError,
    RunRequest,
    RunResponse,
    StopRequest,
    StreamRequest,
    StreamResponse,
    response_to_wire,
)
from warden.twisted_client.testing import output_pattern

# -- connecting ------------------------------------------------------------


def test_default_socket_path() -> None:
    assert Client().socket_path == "/tmp/warden.sock"


def test_connect_to_missing_socket_raises_connection_error(socket_dir: str) -> None:
    client = Client(os.path.join(socket_dir, "absent.sock"))
    with pytest.raises(ClientConnectionError, match=r"cannot connect to .*absent.sock"):
        client.connect()
    assert not client.connected


def test_connect_refused_when_nothing_listens(socket_dir: str) -> None:
    path = os.path.join(socket_dir, "bound.sock")
    bound = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bound.bind(path)  # a socket file, but no listen(): the kernel refuses
    try:
        client = Client(path)
        with pytest.raises(ClientConnectionError, match="refused"):
            client.connect()
        assert not client.connected
    finally:
        bound.close()


def test_connect_disconnect_reconnect(server: RunningServer) -> None:
    client = Client(server.path)
    assert not client.connected
    with pytest.raises(ClientError, match="not connected"):
        client.disconnect()
    client.reconnect()  # works when never connected, as the original
    assert client.connected
    with pytest.raises(ClientError, match="already connected"):
        client.connect()
    assert client.connected
    client.reconnect()
    assert client.call(PingRequest()) == PingResponse()
    client.disconnect()
    assert not client.connected


def test_context_manager_connects_and_disconnects(server: RunningServer) -> None:
    with Client(server.path) as client:
        assert client.connected
        assert client.ping() == PingResponse()
    assert not client.connected


def test_call_when_not_connected_is_a_connection_error(server: RunningServer) -> None:
    with pytest.raises(ClientConnectionError, match="not connected"):
        Client(server.path).call(PingRequest())


# -- requests and responses ------------------------------------------------


def test_call_returns_the_response(client: Client, server: RunningServer) -> None:
    assert client.call(EchoRequest(message="hello")) == EchoResponse(message="hello")
    assert server.received() == [EchoRequest(message="hello")]


def test_typed_methods_take_required_fields_positionally(
    client: Client, server: RunningServer
) -> None:
    assert client.create(grace_time=30).handle == "h-new"
    response = client.run("h1", "echo hi", privileged=True)
    assert isinstance(response, RunResponse)
    assert response.stdout == b"echo hi"
    assert response.stderr == b"\xff\x00"  # job output is bytes, any bytes
    client.stop("h1", kill=True)
    client.net_out("h1", network="10.0.0.0/8", port=80, protocol="UDP")
    client.limit_bandwidth("h1", 100, 200)
    assert server.received() == [
        CreateRequest(grace_time=30),
        RunRequest(handle="h1", script="echo hi", privileged=True),
        StopRequest(handle="h1", kill=True),
        NetOutRequest(handle="h1", network="10.0.0.0/8", port=80, protocol=NetOutRequest.UDP),
        LimitBandwidthRequest(handle="h1", rate=100, burst=200),
    ]
    assert not server.received()[0].HasField("handle")  # None leaves a field unset


def test_server_error_carries_message_data_and_backtrace(client: Client) -> None:
    with pytest.raises(ServerError) as raised:
        client.echo("error boom")
    assert str(raised.value) == "echo failed: boom"
    assert raised.value.message == "echo failed: boom"
    assert raised.value.data == "some data"
    assert raised.value.backtrace == ["frame 1", "frame 2"]
    assert isinstance(raised.value, ClientError)
    assert client.connected
    assert client.echo("still usable").message == "still usable"


def test_server_error_without_data(client: Client) -> None:
    with pytest.raises(ServerError, match="unknown handle") as raised:
        client.info("missing")
    assert raised.value.data is None
    assert raised.value.backtrace == []


def test_a_request_that_cannot_be_encoded_is_not_sent(
    client: Client, server: RunningServer
) -> None:
    with pytest.raises(ProtocolError, match="message"):
        client.call(EchoRequest())  # required field unset
    assert client.connected
    assert client.ping() == PingResponse()
    assert server.received() == [PingRequest()]


def test_call_refuses_what_is_not_a_request(client: Client) -> None:
    with pytest.raises(TypeError, match=r"Expected a warden request .* 'EchoResponse'"):
        client.call(EchoResponse(message="x"))  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="'dict'"):
        client.call({"echo": "x"})  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="use stream"):
        client.call(StreamRequest(handle="h", job_id=1))


def test_a_response_arriving_one_byte_at_a_time(client: Client) -> None:
    assert client.echo("bytewise partial frames").message == "partial frames"
    assert client.echo("after").message == "after"


def test_ten_mebibyte_response(client: Client) -> None:
    size = 10 * 1024 * 1024
    response = client.link("h1", size)
    assert len(response.stdout) == size
    assert response.stdout == output_pattern(size)
    assert client.ping() == PingResponse()


# -- connection failures ---------------------------------------------------


def test_server_closing_instead_of_answering(client: Client, server: RunningServer) -> None:
    with pytest.raises(ClientConnectionError, match=r"closed by the server$"):
        client.echo("close")
    assert not client.connected
    client.reconnect()
    assert client.echo("again").message == "again"


def test_server_closing_in_the_middle_of_a_frame(client: Client) -> None:
    with pytest.raises(ClientConnectionError, match="in the middle of a frame"):
        client.echo("close-mid-frame")
    assert not client.connected
    client.connect()
    assert client.ping() == PingResponse()


def test_a_bad_frame_from_the_server_disconnects(client: Client) -> None:
    with pytest.raises(ClientConnectionError, match="bad response from the server"):
        client.echo("garbage")
    assert not client.connected


def test_a_response_of_the_wrong_type_disconnects(client: Client) -> None:
    with pytest.raises(ClientConnectionError, match=r"expected EchoResponse .* PingResponse"):
        client.echo("wrong-type")
    assert not client.connected


def test_timeout_is_a_connection_error_and_disconnects(client: Client) -> None:
    with pytest.raises(ClientTimeoutError) as raised:
        client.echo("slow 5 late", timeout=0.2)
    assert isinstance(raised.value, ClientConnectionError)
    assert not client.connected
    client.reconnect()
    # The late answer went to the old connection, not this one.
    assert client.echo("fresh", timeout=5).message == "fresh"


def test_a_slow_answer_within_the_timeout(client: Client) -> None:
    assert client.call(EchoRequest(message="slow 0.05 late"), timeout=10).message == "late"


def test_server_gone_between_requests(client: Client, server: RunningServer) -> None:
    assert client.ping() == PingResponse()  # the server holds the connection now
    server.drop_connections()
    with pytest.raises(ClientConnectionError):
        # The first write may still succeed; the read then sees the close.
        client.ping()
        client.ping()
    assert not client.connected


# -- streams ---------------------------------------------------------------


def test_stream_yields_every_frame_up_to_the_exit_status(client: Client) -> None:
    frames = list(client.stream(StreamRequest(handle="h1", job_id=5)))
    assert len(frames) == 6
    assert [f.data for f in frames[:5]] == [b"chunk %d\n" % i for i in range(5)]
    assert [f.name for f in frames[:2]] == ["stdout", "stderr"]
    assert all(not f.HasField("exit_status") for f in frames[:5])
    assert frames[5].exit_status == 5
    assert frames[5].info.state == "active"
    assert client.ping() == PingResponse()


def test_stream_by_handle_and_job_id(client: Client, server: RunningServer) -> None:
    frames = list(client.stream("h2", 2))
    assert [type(f) for f in frames] == [StreamResponse] * 3
    assert server.received() == [StreamRequest(handle="h2", job_id=2)]


def test_stream_of_a_job_with_no_output(client: Client) -> None:
    assert [f.exit_status for f in client.stream("h1", 0)] == [0]


def test_stream_is_sent_when_iteration_begins(client: Client, server: RunningServer) -> None:
    frames = client.stream("h1", 1)
    assert client.ping() == PingResponse()
    assert len(list(frames)) == 2
    assert server.received() == [PingRequest(), StreamRequest(handle="h1", job_id=1)]


def test_disconnect_in_the_middle_of_a_stream(client: Client) -> None:
    received = []
    with pytest.raises(ClientConnectionError, match="closed by the server"):
        for frame in client.stream("cut", 3):
            received.append(frame.data)
    assert received == [b"chunk 0\n", b"chunk 1\n", b"chunk 2\n"]
    assert not client.connected


def test_disconnect_in_the_middle_of_a_stream_frame(client: Client) -> None:
    with pytest.raises(ClientConnectionError, match="middle of a frame"):
        list(client.stream("cut-mid-frame", 2))
    assert not client.connected


def test_error_response_ends_a_stream(client: Client) -> None:
    received = []
    with pytest.raises(ServerError, match="stream failed"):
        for frame in client.stream("error", 2):
            received.append(frame)
    assert len(received) == 2
    assert client.connected
    assert client.ping() == PingResponse()


def test_leaving_a_stream_early_disconnects(client: Client) -> None:
    for frame in client.stream("slow", 20):
        assert frame.data == b"chunk 0\n"
        break
    assert not client.connected


def test_no_other_request_while_a_stream_is_read(client: Client) -> None:
    frames = client.stream("h1", 2)
    next(frames)
    with pytest.raises(ClientError, match="stream is being read"):
        client.ping()
    assert [f.exit_status for f in frames][-1] == 2
    assert client.ping() == PingResponse()


def test_a_stream_does_not_read_from_a_new_connection(client: Client) -> None:
    frames = client.stream("h1", 2)
    next(frames)
    client.reconnect()
    with pytest.raises(ClientConnectionError, match="connection of this stream was closed"):
        next(frames)
    assert client.connected
    assert client.ping() == PingResponse()


def test_stream_refuses_other_requests(client: Client) -> None:
    with pytest.raises(TypeError, match="type:'StreamRequest', but received: 'LinkRequest'"):
        client.stream(LinkRequest(handle="h", job_id=1))  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="needs a job_id"):
        client.stream("h")  # type: ignore[call-overload]


# -- answers with nothing set (known by their bytes) -------------------------


def _answering(socket_dir: str, *answers: bytes) -> Client:
    """A client whose server sends each of ``answers`` (one send each) once
    a request arrived."""
    path = os.path.join(socket_dir, "raw.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn, listener:
            for answer in answers:
                conn.recv(65536)
                for piece in answer.split(b"|"):
                    conn.sendall(piece)
                    time.sleep(0.01)  # each piece its own recv

    threading.Thread(target=serve, daemon=True).start()
    client = Client(path)
    client.connect()
    return client


def test_an_empty_answer_in_one_piece_or_several(socket_dir: str) -> None:
    frame = response_to_wire(PingResponse())
    client = _answering(socket_dir, frame, frame[:2] + b"|" + frame[2:], frame)
    with client:
        assert client.ping() == PingResponse()
        assert client.ping() == PingResponse()
        with pytest.raises(ClientConnectionError, match="expected DestroyResponse"):
            client.destroy("h")  # answered with a Ping's frame
    assert not client.connected


def test_an_error_answer_is_not_taken_for_the_empty_one(socket_dir: str) -> None:
    error = response_to_wire(ErrorResponse(message="nope"))
    with _answering(socket_dir, error) as client, pytest.raises(ServerError, match="nope"):
        client.ping()
