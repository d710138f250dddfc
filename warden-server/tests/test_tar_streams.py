"""StreamIn and StreamOut (extensions) on the insecure backend, through both clients.

What both backends must do alike (round trips, symlink escapes, bad paths,
broken streams) is in ``tests_contract/test_tar_streams.py``; this module
keeps what the two clients and the connection add: chunking and windows,
errors in the middle of a pipelined stream, the connection staying in step,
one open stream per connection, and tar going away with its client.
"""

from __future__ import annotations

import io
import os
import signal
import socket
import tarfile
import time
from pathlib import Path

import pytest
from conftest import AnyClient, WardenServer, wait_for

from warden.client import ServerError
from warden.protocol import (
    MessageDecoder,
    StreamInRequest,
    StreamInResponse,
    StreamOutRequest,
    request_to_wire,
)
from warden.server._protocol import SEND_WINDOW

MIB = 1024 * 1024


def tar_of(members: dict[str, bytes], *, mode: int = 0o644) -> io.BytesIO:
    """An uncompressed tar stream of regular files (name -> content)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = mode
            archive.addfile(info, io.BytesIO(content))
    buffer.seek(0)
    return buffer


def members_of(stream: bytes) -> dict[str, bytes]:
    """Regular files of a tar stream (name -> content)."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(stream)) as archive:
        for member in archive:
            if member.isfile():
                extracted = archive.extractfile(member)
                assert extracted is not None
                out[member.name] = extracted.read()
    return out


def error_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ServerError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(caught.value.message)


def container_root(client: AnyClient, handle: str) -> Path:
    return Path(client.info(handle).container_path) / "root"


def test_a_stream_of_many_chunks_round_trips(client: AnyClient) -> None:
    handle = client.create().handle
    big = os.urandom(MIB) * 5 + b"tail"
    response = client.tar_in(handle, "/in", tar_of({"big": big, "small": b"hi\n"}), window=3)
    assert isinstance(response, StreamInResponse) and response.done
    assert (container_root(client, handle) / "in" / "big").read_bytes() == big
    assert members_of(client.tar_out(handle, "/in/")) == {"./big": big, "./small": b"hi\n"}
    assert members_of(client.tar_out(handle, "/in/small")) == {"small": b"hi\n"}


@pytest.mark.parametrize("chunk_size, window", [(512, 1), (4096, 16)])
def test_a_broken_stream_fails_once_and_the_connection_stays_in_step(
    client: AnyClient, chunk_size: int, window: int
) -> None:
    handle = client.create().handle
    garbage = io.BytesIO(b"not a tar archive " * 20000)  # many chunks, tar fails on the first
    message = error_of(client.tar_in, handle, "/x", garbage, chunk_size=chunk_size, window=window)
    assert message.startswith("stream_in failed: ")
    assert "does not look like a tar archive" in message
    assert client.echo("still in step").message == "still in step"
    client.tar_in(handle, "/x", tar_of({"f": b"ok"}))
    assert (container_root(client, handle) / "x" / "f").read_bytes() == b"ok"


def test_errors_name_what_went_wrong(client: AnyClient) -> None:
    handle = client.create().handle
    (container_root(client, handle) / "file").write_text("in the way")
    assert error_of(client.tar_in, handle, "/file/sub", tar_of({"f": b""})) == (
        "stream_in failed: cannot create the directory /file/sub in the container"
        " (a file or a link out of it is in the way)"
    )
    assert error_of(client.tar_out, handle, "/nope") == (
        "stream_out failed: no such file or directory in the container: /nope"
    )
    assert error_of(client.tar_in, "no-such", "/x", tar_of({"f": b""})) == "unknown handle"
    assert error_of(client.tar_out, "no-such", "/x") == "unknown handle"
    client.stop(handle)
    stopped = "Container state must be one of 'active', current state is 'stopped'"
    assert error_of(client.tar_in, handle, "/x", tar_of({"f": b""})) == stopped
    assert error_of(client.tar_out, handle, "/file") == stopped
    assert client.ping().ByteSize() == 0


def test_an_empty_stream_extracts_nothing(client: AnyClient) -> None:
    handle = client.create().handle
    client.tar_in(handle, "/empty", tar_of({}))
    assert list((container_root(client, handle) / "empty").iterdir()) == []


# -- the wire, frame by frame --


class Raw:
    """A connection that sends frames as given and reads answers one by one."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.decoder = MessageDecoder("response")

    def send(self, *requests: object) -> None:
        self.sock.sendall(b"".join(request_to_wire(r) for r in requests))  # type: ignore[arg-type]

    def receive(self) -> object:
        while True:
            for message in self.decoder:
                return message
            data = self.sock.recv(65536)
            assert data, "closed by the server"
            self.decoder.feed(data)


def test_each_chunk_is_answered_and_one_stream_is_open_per_connection(
    server: WardenServer, client: AnyClient
) -> None:
    handle = client.create().handle
    whole = tar_of({"f": b"x" * 3000}).getvalue()
    raw = Raw(server.socket_path)
    raw.send(
        StreamInRequest(handle=handle, dst_path="/a", data=whole[:1000]),
        StreamInRequest(handle=handle, dst_path="/b", data=whole[1000:]),  # another stream
        StreamInRequest(handle=handle, dst_path="/a", data=whole[1000:]),
        StreamInRequest(handle=handle, dst_path="/a", last=True),
        StreamInRequest(handle=handle, dst_path="/c", data=whole, last=True),  # a new one
        StreamOutRequest(handle=handle, src_path="/c/f"),
    )
    assert raw.receive() == StreamInResponse()
    refused = raw.receive()
    assert getattr(refused, "message", "").startswith(
        f"stream_in failed: a stream into /a of {handle} is open on this connection"
    )
    # The rest of the failed stream gets the same error, up to its last chunk.
    assert raw.receive() == refused
    assert raw.receive() == refused
    assert raw.receive() == StreamInResponse(done=True)
    chunks = []
    while not getattr(answer := raw.receive(), "done", False):
        chunks.append(getattr(answer, "data", b""))
    assert members_of(b"".join(chunks)) == {"f": b"x" * 3000}
    root = container_root(client, handle)
    assert (root / "c" / "f").read_bytes() == b"x" * 3000
    assert not (root / "b").exists()


def _children(pid: int) -> list[tuple[int, str]]:
    """The live processes whose parent is ``pid``, with their names."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            name = stat.split("(", 1)[1].rsplit(")", 1)[0]
            state, parent = stat.rsplit(")", 1)[1].split()[:2]
            if int(parent) == pid and state != "Z":
                found.append((int(entry), name))
    return found


def children_of(pid: int) -> list[int]:
    """The live processes the server at ``pid`` started (stream.sh execs itself into tar).

    The server's ``warden-spawner`` forks them: they are its children.
    """
    found = []
    for child, name in _children(pid):
        if name == "warden-spawner":
            found += [grandchild for grandchild, _ in _children(child)]
        else:
            found.append(child)
    return found


def test_a_stream_given_up_by_its_client_ends_its_tar(
    server: WardenServer, client: AnyClient
) -> None:
    handle = client.create().handle
    whole = tar_of({"f": b"x" * 100000}).getvalue()
    raw = Raw(server.socket_path)
    raw.send(StreamInRequest(handle=handle, dst_path="/half", data=whole[:20000]))
    assert raw.receive() == StreamInResponse()
    assert children_of(server.pid)  # the container has no job: this is tar
    raw.sock.close()
    wait_for(lambda: not children_of(server.pid), what="tar to end")
    assert client.ping().ByteSize() == 0


def test_the_server_stops_reading_while_tar_is_full(
    server: WardenServer, client: AnyClient
) -> None:
    """A client that pipelines without end is held back: with tar stopped,
    the server takes a window of chunks and stops reading the connection."""
    handle = client.create().handle
    chunk = 64 * 1024
    whole = tar_of({"big": os.urandom(MIB) * 16}).getvalue()
    starts = range(0, len(whole), chunk)
    frames = [
        request_to_wire(
            StreamInRequest(
                handle=handle,
                dst_path="/held",
                data=whole[start : start + chunk],
                last=start == starts[-1],
            )
        )
        for start in starts
    ]
    raw = Raw(server.socket_path)
    raw.send(StreamInRequest(handle=handle, dst_path="/held"))  # opens the stream, no data
    assert raw.receive() == StreamInResponse()
    (tar,) = children_of(server.pid)
    os.kill(tar, signal.SIGSTOP)
    try:
        offered = b"".join(frames)
        raw.sock.setblocking(False)
        accepted = 0
        stalls = 0
        while stalls < 10 and accepted < len(offered):
            try:
                accepted += raw.sock.send(offered[accepted : accepted + chunk])
                stalls = 0
            except BlockingIOError:
                stalls += 1
                time.sleep(0.05)  # let the server read what it will
        # tar's pipe, the server's window and the socket's buffers: far from 16 MiB.
        assert accepted < 4 * MIB
    finally:
        os.kill(tar, signal.SIGCONT)
    raw.sock.setblocking(True)
    raw.sock.sendall(offered[accepted:])
    answers = [raw.receive() for _ in frames]
    assert answers[:-1] == [StreamInResponse()] * (len(frames) - 1)
    assert answers[-1] == StreamInResponse(done=True)
    assert (container_root(client, handle) / "held" / "big").stat().st_size == 16 * MIB


def read_by(pid: int) -> int:
    """Bytes the process has read so far (/proc/PID/io's rchar)."""
    try:
        io_text = Path(f"/proc/{pid}/io").read_text()
    except FileNotFoundError:
        raise AssertionError("tar has ended: it was never held back") from None
    for line in io_text.splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar")


def test_tar_waits_while_the_client_does_not_read(server: WardenServer, client: AnyClient) -> None:
    """StreamOut: tar's output is read only as fast as the client takes it."""
    handle = client.create().handle
    (container_root(client, handle) / "big").write_bytes(os.urandom(MIB) * 16)
    raw = Raw(server.socket_path)
    raw.send(StreamOutRequest(handle=handle, src_path="/big"))
    wait_for(lambda: bool(children_of(server.pid)), what="tar to start")
    (tar,) = children_of(server.pid)
    seen, steady = -1, 0
    while steady < 10:  # until tar has stopped reading for a while
        now = read_by(tar)
        steady = steady + 1 if now == seen else 0
        seen = now
        time.sleep(0.05)
    # tar's pipe, one read of the server's and the socket's send buffer (the
    # server's send window, which the kernel doubles): far from 16 MiB.
    assert seen < 2 * SEND_WINDOW + 2 * MIB
    received = bytearray()
    while True:
        answer = raw.receive()
        if getattr(answer, "done", False):
            break
        received += getattr(answer, "data", b"")
    original = (container_root(client, handle) / "big").read_bytes()
    assert members_of(bytes(received))["big"] == original


def test_destroy_ends_a_stream_under_way(server: WardenServer, client: AnyClient) -> None:
    handle = client.create().handle
    whole = tar_of({"f": b"x" * 100000}).getvalue()
    raw = Raw(server.socket_path)
    raw.send(StreamInRequest(handle=handle, dst_path="/half", data=whole[:20000]))
    assert raw.receive() == StreamInResponse()
    assert children_of(server.pid)
    client.destroy(handle)
    assert children_of(server.pid) == []  # tar was ended before the container went
    raw.send(StreamInRequest(handle=handle, dst_path="/half", data=whole[20000:], last=True))
    assert getattr(raw.receive(), "message", "") == "unknown handle"  # the container is gone
