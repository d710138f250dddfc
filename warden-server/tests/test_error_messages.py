"""Errors say why, in sentences: no Python error text reaches a client, and
a container whose destroy is under way is an unknown handle."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import AnyClient, WardenServer, in_reactor, insecure_config, wait_for
from twisted.internet import defer

from warden.client import Client, ServerError
from warden.protocol import (
    CopyInRequest,
    CopyOutRequest,
    CreateRequest,
    InfoRequest,
    LimitMemoryRequest,
    LinkRequest,
    NetOutRequest,
    SpawnRequest,
    StopRequest,
)
from warden.server._config import parse_config
from warden.server._errors import WardenError
from warden.server._messages import INTERNAL_ERROR, client_message, describe, script_reason
from warden.server._server import Server

#: What must never reach a client: errno texts and exception class names.
PYTHON_TEXT = re.compile(r"\[Errno|Traceback|\b\w*(Error|Exception)\b|KeyError|Failure|<class ")


def error_of(call: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ServerError) as caught:
        call(*args, **kwargs)
    return str(caught.value.message)


# -- the messages themselves --


def test_errno_texts_become_plain_words() -> None:
    assert (
        client_message(
            "Failed getting memory usage: [Errno 2] No such file or directory: '/cg/memory.stat'"
        )
        == "Failed getting memory usage: no such file or directory: /cg/memory.stat"
    )
    assert client_message("x: [Errno 16] Device or resource busy") == "x: device or resource busy"
    assert client_message("command exited with failure") == "command exited with failure"


def test_unforeseen_errors_are_described_not_named() -> None:
    assert describe(PermissionError(13, "Permission denied", "/etc/shadow")) == (
        "permission denied: /etc/shadow"
    )
    assert describe(KeyError("handle")) == INTERNAL_ERROR
    assert not PYTHON_TEXT.search(INTERNAL_ERROR)


def test_a_script_reason_is_its_last_lines_on_one_line() -> None:
    assert script_reason(b"tar: a\n\ncopy: no such file: /x\n") == "tar: a; copy: no such file: /x"
    assert script_reason(b"") == ""
    assert len(script_reason(b"y" * 5000)) <= 403


# -- through a real server --


@pytest.fixture
def in_process(reactor_thread: Any) -> Iterator[Server]:
    """A real Server in this process (insecure backend, real socket), so that
    a test can make a container's handler fail as nothing else can."""
    base = Path(tempfile.mkdtemp(prefix="werr-", dir="/tmp"))
    server = Server(parse_config(insecure_config(base)), reactor_thread)
    in_reactor(lambda: defer.ensureDeferred(server.start()))
    try:
        yield server
    finally:
        in_reactor(server.drain)
        in_reactor(lambda: server.drained)
        in_reactor(server.health_port.stopListening)
        in_reactor(server.context.jobs.watcher.close)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize(
    ("raised", "answered"),
    [
        (OSError(16, "Device or resource busy"), "device or resource busy"),
        (
            WardenError(
                "Failed getting memory usage: "
                + str(FileNotFoundError(2, "No such file or directory", "/cg/memory.stat"))
            ),
            "Failed getting memory usage: no such file or directory: /cg/memory.stat",
        ),
        (KeyError("limit_memory"), INTERNAL_ERROR),
        (ValueError("invalid literal for int() with base 10: 'max'"), INTERNAL_ERROR),
    ],
)
def test_what_a_handler_raises_reaches_the_client_as_a_sentence(
    in_process: Server, raised: BaseException, answered: str
) -> None:
    with Client(in_process.config.server.unix_domain_path) as client:
        handle = client.create().handle

        async def fail(request: object) -> None:
            raise raised

        in_process.registry.get(handle).do_limit_memory = fail  # type: ignore[method-assign,assignment]
        assert error_of(client.limit_memory, handle, limit_in_bytes=1) == answered
        # The server and the container carry on.
        assert client.info(handle).state == "active"
        client.destroy(handle)


def test_copy_failures_say_what_failed(client: AnyClient, tmp_path: Any) -> None:
    handle = client.create().handle
    message = error_of(client.copy_in, handle, "/nonexistent", "/x")
    assert message.startswith("command exited with failure: ")
    assert "/nonexistent" in message and "does not exist" in message
    message = error_of(client.copy_out, handle, "/nonexistent", str(tmp_path / "out"))
    assert message.startswith("command exited with failure: ")
    assert "/nonexistent" in message


def test_failing_requests_answer_sentences(server: WardenServer) -> None:
    with server.client() as client:
        handle = client.create().handle
        job = client.spawn(handle, "exit 0").job_id
        client.link(handle, job)
        other = client.create().handle
        client.stop(other)
        failing = [
            InfoRequest(handle="nope"),
            CreateRequest(handle=handle),
            CreateRequest(network="not-an-address"),
            CreateRequest(network="300.1.1.1"),
            LinkRequest(handle=handle, job_id=job),
            LinkRequest(handle=handle, job_id=10**6),
            SpawnRequest(handle=other, script="true"),
            CopyInRequest(handle=handle, src_path="/nonexistent", dst_path="/x"),
            CopyInRequest(handle=handle, src_path="", dst_path=""),
            CopyOutRequest(handle=handle, src_path="/nonexistent", dst_path="/tmp/x"),
            CopyOutRequest(handle=handle, src_path="/", dst_path="/proc/1/nope/x"),
            LimitMemoryRequest(handle=handle, limit_in_bytes=1),
            NetOutRequest(handle=handle),
            StopRequest(handle="nope"),
        ]
        messages = []
        for request in failing:
            with pytest.raises(ServerError) as caught:
                client.call(request, timeout=60)
            messages.append(str(caught.value.message))
    for request, message in zip(failing, messages, strict=True):
        assert message, request
        assert not PYTHON_TEXT.search(message), (type(request).__name__, message)


def test_a_container_being_destroyed_is_an_unknown_handle(server: WardenServer) -> None:
    with server.client() as client:
        handle = client.create().handle
        # Its destroy takes a while: the job leaves a second after a TERM.
        job = client.spawn(handle, "trap 'sleep 1; exit 3' TERM; echo ready; sleep 1000 & wait")
        wait_for(lambda: b"ready" in _stdout(server, handle, job.job_id), what="the job")
    destroyed: list[object] = []

    def destroy() -> None:
        with server.client() as destroyer:
            destroyed.append(destroyer.destroy(handle, timeout=60))

    thread = threading.Thread(target=destroy)
    thread.start()
    with server.client() as client:
        wait_for(lambda: handle not in client.list().handles, what="the destroy to start")
        assert thread.is_alive(), "the destroy was meant to be under way"
        for call in (
            lambda: client.info(handle),
            lambda: client.spawn(handle, "true"),
            lambda: client.link(handle, job.job_id),
            lambda: client.limit_memory(handle),
            lambda: client.stop(handle),
        ):
            assert error_of(call) == "unknown handle"
    thread.join(60)
    assert len(destroyed) == 1
    with server.client() as client:
        assert error_of(client.info, handle) == "unknown handle"


def _stdout(server: WardenServer, handle: str, job_id: int) -> bytes:
    for path in server.containers():
        stdout = path / "jobs" / str(job_id) / "stdout"
        if stdout.exists():
            return stdout.read_bytes()
    return b""
