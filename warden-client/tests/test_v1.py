"""The v1 compatibility layer: every row and every error of the original's table.

Each row is checked twice: as a pure translation, and end to end through a
real client and the scripted server (which records the v2 request it got).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import RunningServer

from warden.client import Client, ServerError, V1Error, request_from_v1, response_to_v1
from warden.protocol import (
    CopyInRequest,
    CopyOutRequest,
    CopyOutResponse,
    CreateRequest,
    CreateResponse,
    DestroyRequest,
    EchoRequest,
    InfoRequest,
    InfoResponse,
    LimitBandwidthRequest,
    LimitCpuRequest,
    LimitCpuResponse,
    LimitDiskRequest,
    LimitDiskResponse,
    LimitMemoryRequest,
    LimitMemoryResponse,
    LinkRequest,
    LinkResponse,
    ListRequest,
    ListResponse,
    NetInRequest,
    NetOutRequest,
    PingRequest,
    PingResponse,
    ProtocolError,
    RunRequest,
    SpawnRequest,
    StopRequest,
    StreamRequest,
    StreamResponse,
)

RO, RW = CreateRequest.BindMount.RO, CreateRequest.BindMount.RW

#: (v1 command, the v2 request it becomes, the v1 value the scripted server's answer gives)
ROWS: list[tuple[list[Any], Any, Any]] = [
    (["create"], CreateRequest(), "h-new"),
    (["create", None], CreateRequest(), "h-new"),
    (
        [
            "create",
            {
                "bind_mounts": [["/src", "/dst", "ro"], ["/a", "/b", {"mode": "RW"}]],
                "grace_time": 1.1,
                "ignored": "by the original too",
            },
        ],
        CreateRequest(
            bind_mounts=[
                CreateRequest.BindMount(src_path="/src", dst_path="/dst", mode=RO),
                CreateRequest.BindMount(src_path="/a", dst_path="/b", mode=RW),
            ],
            grace_time=1,
        ),
        "h-new",
    ),
    (["create", {"grace_time": "30"}], CreateRequest(grace_time=30), "h-new"),
    (["stop", "h1"], StopRequest(handle="h1"), "ok"),
    (["destroy", "h1"], DestroyRequest(handle="h1"), "ok"),
    (
        ["info", "h1"],
        InfoRequest(handle="h1"),
        {
            "state": "active",
            "events": ["out of memory"],
            "container_path": "/depot/h1",
            "memory_stat": {"cache": 1, "rss": 2},
            "job_ids": [1, 2],
        },
    ),
    (["spawn", "h1", "echo hi"], SpawnRequest(handle="h1", script="echo hi"), 7),
    (["link", "h1", "5"], LinkRequest(handle="h1", job_id=5), [0, b"\x00\x01\x02\x03\x04", b"err"]),
    (["link", "h1", 6], LinkRequest(handle="h1", job_id=6), [0, bytes(range(6)), b"err"]),
    (
        ["run", "h1", "echo hi"],
        RunRequest(handle="h1", script="echo hi"),
        [3, b"echo hi", b"\xff\x00"],
    ),
    (["net", "h1", "in"], NetInRequest(handle="h1"), {"host_port": 61001, "container_port": 61001}),
    (
        ["net", "h1", "out", "10.0.0.0/8:80"],
        NetOutRequest(handle="h1", network="10.0.0.0/8", port=80),
        "ok",
    ),
    (
        ["net", "h1", "out", "host:1:2"],  # split on the first colon; "1:2" is no integer
        V1Error('net out: port: invalid value for Integer(): "1:2"'),
        None,
    ),
    (
        ["copy", "h1", "in", "/src", "/dst"],
        CopyInRequest(handle="h1", src_path="/src", dst_path="/dst"),
        "ok",
    ),
    (
        ["copy", "h1", "out", "/src", "/dst"],
        CopyOutRequest(handle="h1", src_path="/src", dst_path="/dst"),
        "ok",
    ),
    (
        ["copy", "h1", "out", "/src", "/dst", "vcap"],
        CopyOutRequest(handle="h1", src_path="/src", dst_path="/dst", owner="vcap"),
        "ok",
    ),
    (["limit", "h1", "mem"], LimitMemoryRequest(handle="h1"), 1024),
    (["limit", "h1", "mem", "4096"], LimitMemoryRequest(handle="h1", limit_in_bytes=4096), 4096),
    (["limit", "h1", "disk"], LimitDiskRequest(handle="h1"), 2048),
    (["limit", "h1", "disk", 100], LimitDiskRequest(handle="h1", byte=100), 100),
    (
        ["limit", "h1", "bandwidth", "100", "200"],
        LimitBandwidthRequest(handle="h1", rate=100, burst=200),
        "rate: 100 burst: 200",
    ),
    (["ping"], PingRequest(), "pong"),
    (["PING"], PingRequest(), "pong"),  # the command is case-insensitive
    (["list"], ListRequest(), ["h1", "h2"]),
    (["echo", "hello world"], EchoRequest(message="hello world"), "hello world"),
    (["Echo", "x", "extra", "ignored"], EchoRequest(message="x"), "x"),
]

#: (v1 command, the error it raises before anything is sent)
ERRORS: list[tuple[list[Any], str]] = [
    (["frobnicate", "h1"], "Unknown command: FROBNICATE"),
    ([], "Unknown command: "),
    (["limit_cpu", "h1"], "Unknown command: LIMIT_CPU"),  # no v1 form for LimitCpu
    (["net", "h1", "sideways"], "Unknown net direction: sideways"),
    (["net", "h1", "IN"], "Unknown net direction: IN"),  # directions are case-sensitive
    (["net", "h1"], "Unknown net direction: $"),
    (["net", "h1", "out"], "net out: expected NETWORK:PORT, got None"),
    (
        ["net", "h1", "out", "10.0.0.0/8"],
        "net out: expected NETWORK:PORT, got '10.0.0.0/8' \\(no port\\)",
    ),
    (
        ["net", "h1", "out", "10.0.0.0/8:http"],
        'net out: port: invalid value for Integer\\(\\): "http"',
    ),
    (["copy", "h1", "sideways", "/a", "/b"], "Unknown copy direction: sideways"),
    (["copy", "h1"], "Unknown copy direction: $"),
    (["limit", "h1", "cpu", "10"], "Unknown limit: cpu"),
    (["limit", "h1", "memory"], "Unknown limit: memory"),
    (["limit", "h1"], "Unknown limit: $"),
    (
        ["limit", "h1", "mem", "lots"],
        'limit mem: limit_in_bytes: invalid value for Integer\\(\\): "lots"',
    ),
    (["limit", "h1", "disk", -1], "limit disk: byte: -1 is out of range"),
    (
        ["limit", "h1", "bandwidth", "1", None],
        "limit bandwidth: burst: can't convert nil into Integer",
    ),
    (
        ["create", {"bind_mounts": [["/src", "/dst", "rx"]]}],
        "create: uninitialized constant CreateRequest::BindMount::Mode::RX",
    ),
    (
        ["create", {"bind_mounts": [["/src", "/dst", {"mode": "rx"}]]}],
        "create: uninitialized constant CreateRequest::BindMount::Mode::RX",
    ),
    (
        ["create", {"bind_mounts": [["/src", "/dst"]]}],
        "create: a bind mount is \\[src_path, dst_path, mode\\]",
    ),
    (
        ["create", {"grace_time": "invalid"}],
        'create: grace_time: invalid value for Integer\\(\\): "invalid"',
    ),
    (["create", {"grace_time": None}], "create: grace_time: can't convert nil into Integer"),
    (["create", {"grace_time": 2**32}], "create: grace_time: 4294967296 is out of range"),
    (["create", "config"], "create: the config must be a mapping, got str"),
    (["create", {"bind_mounts": "/src"}], "create: bind_mounts must be a list, got str"),
    (["link", "h1"], "link: job_id: can't convert nil into Integer"),
    (["link", "h1", "one"], 'link: job_id: invalid value for Integer\\(\\): "one"'),
    (["stream", "h1", True], "stream: job_id: can't convert true into Integer"),
    (["stop", 42], "stop: handle: expected a string, got int 42"),
]


@pytest.mark.parametrize(("command", "request_", "value"), ROWS, ids=lambda v: str(v)[:40])
def test_translation_row(
    command: list[Any], request_: Any, value: Any, client: Client, server: RunningServer
) -> None:
    if isinstance(request_, V1Error):
        with pytest.raises(V1Error, match=str(request_).replace("(", "\\(").replace(")", "\\)")):
            request_from_v1(command)
        return
    assert request_from_v1(list(command)) == request_
    assert client.call(command) == value
    assert server.received() == [request_]
    assert client.v1_mode


@pytest.mark.parametrize(("command", "message"), ERRORS, ids=lambda v: str(v)[:40])
def test_malformed_command(
    command: list[Any], message: str, client: Client, server: RunningServer
) -> None:
    with pytest.raises(V1Error, match=f"^{message}"):
        request_from_v1(command)
    with pytest.raises(V1Error, match=f"^{message}"):
        client.call(command)
    assert client.connected
    assert client.call(["ping"]) == "pong"
    assert server.received() == [PingRequest()]


def test_v1_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="Unknown command"):
        request_from_v1(["nope"])


@pytest.mark.parametrize(
    ("command", "missing"),
    [
        (["stop"], "StopRequest is missing required fields: handle"),
        (["spawn", "h1"], "SpawnRequest is missing required fields: script"),
        (["echo"], "EchoRequest is missing required fields: message"),
        (["copy", "h1", "in", "/src"], "CopyInRequest is missing required fields: dst_path"),
        (
            ["limit", "h1", "bandwidth"],
            "LimitBandwidthRequest is missing required fields: rate,burst",
        ),
        (
            ["limit", "h1", "bandwidth", "100"],
            "LimitBandwidthRequest is missing required fields: burst",
        ),
    ],
)
def test_missing_required_fields_fail_when_encoding(
    command: list[Any], missing: str, client: Client, server: RunningServer
) -> None:
    # As the original: the translation leaves the field unset, encoding refuses.
    with pytest.raises(ProtocolError, match=missing):
        client.call(command)
    assert client.call(["ping"]) == "pong"
    assert server.received() == [PingRequest()]


@pytest.mark.parametrize(
    ("text", "number"),
    [("0x10", 16), ("0b101", 5), ("0o17", 15), ("010", 8), ("1_000", 1000), (" 7 ", 7), (9.99, 9)],
)
def test_integers_are_read_as_ruby_integer_reads_them(text: Any, number: int) -> None:
    assert request_from_v1(["link", "h", text]) == LinkRequest(handle="h", job_id=number)


def test_stream_row_yields_one_triple_per_frame(client: Client, server: RunningServer) -> None:
    frames = list(client.stream(["stream", "h1", "2"]))
    assert frames == [
        ["stdout", b"chunk 0\n", None],
        ["stderr", b"chunk 1\n", None],
        [None, None, 2],
    ]
    assert server.received() == [StreamRequest(handle="h1", job_id=2)]
    assert client.v1_mode


def test_stream_row_translation() -> None:
    assert request_from_v1(["stream", "h1", "3"]) == StreamRequest(handle="h1", job_id=3)


def test_a_response_without_a_v1_form(client: Client) -> None:
    client.call(["ping"])
    with pytest.raises(V1Error, match=r"^Unknown response: LimitCpuResponse$"):
        client.call(LimitCpuRequest(handle="h1"))
    assert client.call(["ping"]) == "pong"  # the answer was read: still in step


def test_v1_mode_is_for_good_as_the_original(client: Client) -> None:
    assert client.call(PingRequest()) == PingResponse()
    assert not client.v1_mode
    assert client.call(("echo", "tuple")) == "tuple"
    assert client.v1_mode
    assert client.call(PingRequest()) == "pong"
    assert client.call(CopyOutRequest(handle="h", src_path="/a", dst_path="/b")) == "ok"
    # The typed methods keep returning responses (their signatures say so).
    assert client.ping() == PingResponse()
    assert list(client.stream(StreamRequest(handle="h1", job_id=1)))[-1] == [None, None, 1]
    assert list(client.stream("h1", 1))[-1].exit_status == 1


def test_server_errors_are_raised_in_v1_mode(client: Client) -> None:
    with pytest.raises(ServerError, match="unknown handle"):
        client.call(["info", "missing"])
    with pytest.raises(ServerError, match="echo failed: x"):
        client.call(["echo", "error x"])
    assert client.call(["ping"]) == "pong"


@pytest.mark.parametrize(
    ("response", "value"),
    [
        (CreateResponse(handle="h"), "h"),
        (LinkResponse(), [None, None, None]),
        (StreamResponse(name="stdout", data=b"d", exit_status=25), ["stdout", b"d", 25]),
        (LimitMemoryResponse(), None),
        (LimitDiskResponse(byte=5), 5),
        (ListResponse(), []),
        (InfoResponse(), {}),
        (CopyOutResponse(), "ok"),
    ],
)
def test_response_values(response: Any, value: Any) -> None:
    assert response_to_v1(response) == value


def test_every_response_but_limit_cpu_has_a_v1_value() -> None:
    from warden.protocol import RESPONSE_TYPES, ErrorResponse, is_extension

    without = []
    for cls in RESPONSE_TYPES.values():
        if cls is not ErrorResponse and is_extension(cls):
            continue  # not in the original: no v1 form (tested below)
        try:
            response_to_v1(cls())
        except V1Error:
            without.append(cls)
    assert without == [ErrorResponse, LimitCpuResponse]


def test_extension_responses_have_no_v1_value() -> None:
    from warden.protocol import RESPONSE_TYPES, ErrorResponse, is_extension

    extensions = [c for c in RESPONSE_TYPES.values() if c is not ErrorResponse and is_extension(c)]
    assert extensions
    for cls in extensions:
        with pytest.raises(V1Error, match=f"Unknown response: {cls.__name__}"):
            response_to_v1(cls())
