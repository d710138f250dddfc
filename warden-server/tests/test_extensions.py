"""The extensions of properties, bulk info, signals and capacity, against a
real server (insecure backend) through both clients; their survival of a
restart; a server that does not know them; and an original-shaped client
that sees nothing of them.

What both backends must do alike is in ``tests_contract/test_extensions.py``.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import AnyClient, WardenServer, job_ended, wait_for
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet

from warden.client import Client, ExtensionNotSupported, ServerError
from warden.protocol import (
    CreateRequest,
    CreateResponse,
    ErrorResponse,
    FrameDecoder,
    InfoRequest,
    InfoResponse,
    ListRequest,
    ListResponse,
    PingRequest,
    ProtocolError,
    SetPropertyRequest,
    encode_frame,
    properties_of,
    request_class,
    request_to_wire,
    response_to_wire,
    unwrap,
    wrap,
)
from warden.protocol.errors import server_error

ALLOWED = "allowed: TERM, KILL, INT, HUP, QUIT, USR1, USR2"
#: A job that says when it is ready, then ends with 7 on USR1 (and only then).
TRAPS_USR1 = "trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done"


def error_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ServerError) as caught:
        call(*args, **kwargs)
    return str(caught.value.message)


def job_output(server: WardenServer, handle: str, job_id: int) -> str:
    path = server.depot / handle / "jobs" / str(job_id) / "stdout"
    return path.read_text() if path.exists() else ""


# -- properties --


def test_properties_are_set_read_listed_and_removed(client: AnyClient) -> None:
    handle = client.create(properties={"owner": "me", "tier": "web"}).handle
    other = client.create(properties={"owner": "me"}).handle
    plain = client.create().handle

    assert properties_of(client.info(handle)) == {"owner": "me", "tier": "web"}
    assert client.get_property(handle, "tier") == "web"
    client.set_property(handle, "tier", "db")
    client.set_property(plain, "owner", "you")
    assert client.get_property(handle, "tier") == "db"

    assert sorted(client.list(properties={"owner": "me"}).handles) == sorted([handle, other])
    assert client.list(properties={"owner": "me", "tier": "db"}).handles == [handle]
    assert client.list(properties={"owner": "nobody"}).handles == []
    assert sorted(client.list().handles) == sorted([handle, other, plain])

    client.remove_property(handle, "tier")
    assert properties_of(client.info(handle)) == {"owner": "me"}
    assert error_of(client.get_property, handle, "tier") == "unknown property: 'tier'"
    assert error_of(client.remove_property, handle, "tier") == "unknown property: 'tier'"
    assert error_of(client.get_property, "absent", "tier") == "unknown handle"


def test_property_limits_name_what_was_too_big(make_server: Callable[..., WardenServer]) -> None:
    server = make_server(
        server={"property_key_limit": 8, "property_value_limit": 16, "properties_per_container": 2}
    ).start()
    with server.client() as client:
        handle = client.create().handle
        assert error_of(client.set_property, handle, "k" * 9, "v") == (
            "property key is too long: 9 bytes (at most 8)"
        )
        assert error_of(client.set_property, handle, "key", "é" * 9) == (
            "property value of 'key' is too long: 18 bytes (at most 16)"
        )
        assert error_of(client.set_property, handle, "", "v") == "property key is empty"
        client.set_property(handle, "a", "1")
        client.set_property(handle, "b", "2")
        assert error_of(client.set_property, handle, "c", "3") == (
            "too many properties: 3 (at most 2 per container)"
        )
        client.set_property(handle, "b", "changed")  # replacing is not adding
        assert properties_of(client.info(handle)) == {"a": "1", "b": "changed"}

        # A Create that breaks a limit makes nothing.
        too_many = {"a": "1", "b": "2", "c": "3"}
        assert error_of(client.create, properties=too_many) == (
            "too many properties: 3 (at most 2 per container)"
        )
        assert client.list().handles == [handle]


# -- bulk info --


def test_bulk_info_answers_each_handle_or_its_error(client: AnyClient) -> None:
    one = client.create(properties={"n": "1"}).handle
    two = client.create().handle

    infos = client.bulk_info([one, "absent", two])
    assert list(infos) == [one, "absent", two]
    assert isinstance(infos[one], InfoResponse)
    assert properties_of(infos[one]) == {"n": "1"}
    assert infos[two].container_path.endswith(two)
    assert isinstance(infos["absent"], ServerError)
    assert str(infos["absent"]) == "unknown handle"

    assert sorted(client.bulk_info()) == sorted([one, two])
    client.destroy(two)
    assert sorted(client.bulk_info()) == [one]
    assert str(client.bulk_info([two])[two]) == "unknown handle"


# -- signals --


def test_signal_reaches_a_running_job(client: AnyClient, server: WardenServer) -> None:
    handle = client.create().handle
    job_id = client.spawn(handle, TRAPS_USR1).job_id
    wait_for(lambda: "ready" in job_output(server, handle, job_id), what="the job's trap")
    client.signal(handle, job_id, "usr1")
    linked = client.link(handle, job_id)
    assert linked.exit_status == 7
    assert linked.stdout.startswith(b"ready\ngot-usr1\n")


@pytest.mark.parametrize("name", ["TERM", "SIGTERM", "sigterm", "Term"])
def test_signal_names_with_or_without_sig_in_any_case(shared_client: AnyClient, name: str) -> None:
    handle = shared_client.create().handle
    try:
        job_id = shared_client.spawn(handle, "sleep 600").job_id
        shared_client.signal(handle, job_id, name)
        # bash ends by TERM: clients get 255 for a death by signal.
        assert shared_client.link(handle, job_id).exit_status == 255
    finally:
        shared_client.destroy(handle)


def test_signal_errors(client: AnyClient, server: WardenServer) -> None:
    handle = client.create().handle
    job_id = client.spawn(handle, "echo done").job_id
    path = str(server.depot / handle)
    wait_for(lambda: job_ended(path, job_id), what="the job's end")
    assert error_of(client.signal, handle, job_id, "TERM") == (f"job {job_id} has already finished")
    client.link(handle, job_id)
    assert error_of(client.signal, handle, job_id, "TERM") == f"no such job: {job_id}"
    assert error_of(client.signal, handle, 99999, "TERM") == "no such job: 99999"
    assert error_of(client.signal, handle, job_id, "STOP") == f"unknown signal 'STOP' ({ALLOWED})"
    assert error_of(client.signal, "absent", job_id, "TERM") == "unknown handle"


# -- capacity --


def test_capacity_is_the_host_and_the_smallest_pool(
    make_server: Callable[..., WardenServer], connect_client: Callable[[WardenServer], AnyClient]
) -> None:
    server = make_server(user={"pool_size": 5}).start()
    client = connect_client(server)
    capacity = client.capacity()
    assert capacity.memory_in_bytes == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    depot = os.statvfs(server.depot)
    assert capacity.disk_in_bytes == depot.f_blocks * depot.f_frsize
    assert capacity.max_containers == 5  # the uid pool; the network pool has 64 /30s

    server = make_server(network={"pool_network": "10.254.0.0/28"}).start()
    assert connect_client(server).capacity().max_containers == 4


# -- restart --


@pytest.mark.parametrize("how", ["drain", "kill"])
def test_properties_survive_a_restart(make_server: Callable[..., WardenServer], how: str) -> None:
    server = make_server().start()
    with server.client() as client:
        handle = client.create(properties={"a": "1", "b": "2"}).handle
        client.set_property(handle, "c", "3")
        client.remove_property(handle, "a")
    if how == "drain":
        assert server.drain() == 0
    else:
        server.kill()
    server.start()
    with server.client() as client:
        assert properties_of(client.info(handle)) == {"b": "2", "c": "3"}
        assert client.list(properties={"c": "3"}).handles == [handle]


def test_a_container_from_the_warm_pool_gets_its_properties(
    make_server: Callable[..., WardenServer],
) -> None:
    server = make_server(server={"container_pool_size": 1, "properties_per_container": 2}).start()

    def pooled_ids() -> set[str]:
        return {
            path.parent.name
            for path in server.depot.glob("*/snapshot.json")
            if '"pooled": true' in path.read_text()
        }

    wait_for(lambda: len(pooled_ids()) == 1, what="a pooled container")
    ready = pooled_ids()
    with server.client() as client:
        too_many = {"a": "1", "b": "2", "c": "3"}
        assert error_of(client.create, properties=too_many) == (
            "too many properties: 3 (at most 2 per container)"
        )
        assert pooled_ids() == ready  # the refused Create took nothing from the pool
        handle = client.create(properties={"team": "blue"}).handle
        assert os.path.basename(client.info(handle).container_path) in ready
        assert properties_of(client.info(handle)) == {"team": "blue"}
        assert client.list(properties={"team": "blue"}).handles == [handle]
    server.kill()
    server.start()
    with server.client() as client:
        assert properties_of(client.info(handle)) == {"team": "blue"}


# -- a server without the extensions --


class ScriptedServer:
    """A unix socket server that answers every frame with one ErrorResponse, then
    closes: what a warden without an extension answers to its request."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        self.answer = response_to_wire(ErrorResponse(message=message))
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(4)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                decoder = FrameDecoder()
                while not list(decoder):
                    data = connection.recv(65536)
                    if not data:
                        break
                    decoder.feed(data)
                connection.sendall(self.answer)

    def close(self) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(10)


def unknown_type_message() -> str:
    """What our server answers for a type number it does not know."""
    with pytest.raises(ProtocolError) as caught:
        request_class(250)
    return str(caught.value)


@pytest.fixture
def scripted(tmp_path: Path) -> Iterator[ScriptedServer]:
    made = ScriptedServer(
        Path(f"/tmp/wscr-{os.getpid()}-{id(tmp_path)}.sock"), unknown_type_message()
    )
    yield made
    made.close()
    made.path.unlink(missing_ok=True)


def test_a_server_without_an_extension_is_a_clear_error(
    scripted: ScriptedServer, connect_client: Callable[[Any], AnyClient]
) -> None:
    client = connect_client(SimpleNamespace(socket_path=str(scripted.path)))
    with pytest.raises(ExtensionNotSupported) as caught:
        client.set_property("h", "k", "v")
    assert str(caught.value) == "the server does not support set_property"
    assert caught.value.method == "set_property"


def test_our_server_names_an_unknown_type_as_the_clients_expect(server: WardenServer) -> None:
    """The sentence our server answers for a type it does not know (a server
    older than an extension) is the one the clients turn into ExtensionNotSupported."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(server.socket_path)
        envelope = bytearray(wrap(PingRequest()))
        envelope[1] = 120  # the Ping type number (91) -> 120, unknown to the server
        sock.sendall(encode_frame(bytes(envelope)))
        response = read_frames(sock, 1)[0]
    number, payload = unwrap(response)
    assert number == 1
    error = ErrorResponse.FromString(payload)
    assert error.message == "Unknown request type: 120"
    translated = server_error(error, SetPropertyRequest)
    assert isinstance(translated, ExtensionNotSupported)
    # The same sentence for an original request stays a plain ServerError.
    assert type(server_error(error, InfoRequest)) is ServerError


def test_blocking_client_is_disconnected_after_an_unsupported_extension(
    scripted: ScriptedServer,
) -> None:
    client = Client(str(scripted.path))
    client.connect()
    with pytest.raises(ExtensionNotSupported, match="the server does not support capacity"):
        client.capacity(timeout=30)
    assert not client.connected


# -- an original-shaped client sees nothing of the extensions --


def original_class(cls: type[Message]) -> type[Message]:
    """``cls`` as the original schema has it: without the extension fields (100+)."""
    files = descriptor_pb2.FileDescriptorProto()
    cls.DESCRIPTOR.file.CopyToProto(files)  # type: ignore[attr-defined]
    files.name = "original_" + files.name.rsplit("/", 1)[-1]
    files.package = "original"
    del files.dependency[:]

    def strip(message: descriptor_pb2.DescriptorProto) -> None:
        kept = [f for f in message.field if f.number < 100]
        del message.field[:]
        message.field.extend(kept)
        for nested in message.nested_type:
            strip(nested)
        for field in message.field:
            if field.HasField("type_name"):
                field.type_name = field.type_name.replace(".warden.", ".original.")

    for message in files.message_type:
        strip(message)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(files)
    found = pool.FindMessageTypeByName("original." + cls.DESCRIPTOR.name)
    return message_factory.GetMessageClass(found)


def read_frames(sock: socket.socket, count: int) -> list[bytes]:
    decoder = FrameDecoder()
    frames: list[bytes] = []
    while len(frames) < count:
        data = sock.recv(65536)
        assert data, "the server closed the connection"
        decoder.feed(data)
        frames.extend(decoder)
    return frames


class OriginalClient:
    """Raw frames of the original's types only, parsed with the original's fields."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)

    def ask(self, request: Message, original_response: type[Message]) -> tuple[Message, bytes]:
        self.sock.sendall(request_to_wire(request))
        number, payload = unwrap(read_frames(self.sock, 1)[0])
        assert number != 1, ErrorResponse.FromString(payload).message
        return original_response.FromString(payload), payload

    def close(self) -> None:
        self.sock.close()


def test_an_original_client_sees_the_original_responses(
    server: WardenServer, client: AnyClient
) -> None:
    """Another connection uses the extensions on the same containers; the
    original-shaped one sees List and Info as they were, and its requests
    (with no extension field) behave as the original's."""
    original_info = original_class(InfoResponse)
    original_list = original_class(ListResponse)
    old = OriginalClient(server.socket_path)
    try:
        created, _ = old.ask(CreateRequest(), original_class(CreateResponse))
        mine = created.handle  # type: ignore[attr-defined]
        bare = old.ask(CreateRequest(), original_class(CreateResponse))[0].handle  # type: ignore[attr-defined]
        labelled = client.create(properties={"team": "blue"}).handle
        client.set_property(mine, "seen-by", "extensions")
        client.bulk_info()
        job_id = client.spawn(labelled, TRAPS_USR1).job_id
        wait_for(lambda: "ready" in job_output(server, labelled, job_id), what="the trap")
        client.signal(labelled, job_id, "USR1")
        client.link(labelled, job_id)

        listed, list_bytes = old.ask(ListRequest(), original_list)
        assert sorted(listed.handles) == sorted([mine, bare, labelled])  # type: ignore[attr-defined]
        # List is unchanged: the bytes carry nothing an original parser skips.
        assert listed.SerializeToString() == list_bytes
        assert len(UnknownFieldSet(listed)) == 0

        for handle in (mine, bare, labelled):
            info, info_bytes = old.ask(InfoRequest(handle=handle), original_info)
            full = InfoResponse.FromString(info_bytes)
            assert info.state == "active"  # type: ignore[attr-defined]
            assert info.container_path == str(server.depot / handle)  # type: ignore[attr-defined]
            # Every original field reads as it would without the extensions
            # (the properties, field 100, are skipped by the original parser).
            skipped = [field.field_number for field in UnknownFieldSet(info)]
            # Only a container with properties has anything to skip.
            # One property each on two of them: field 100 once; none on the third.
            assert skipped == ([] if handle == bare else [100])
            del full.properties[:]
            info.DiscardUnknownFields()
            assert info.SerializeToString() == full.SerializeToString()
    finally:
        old.close()
