"""Responses printed as ``field : value`` lines."""

from __future__ import annotations

from warden.client._repl._format import format_response
from warden.protocol import (
    CreateRequest,
    CreateResponse,
    InfoResponse,
    LinkResponse,
    ListResponse,
    NetInResponse,
    NetOutRequest,
    PingResponse,
    StopRequest,
)


def test_simple_fields_in_schema_order() -> None:
    assert format_response(CreateResponse(handle="abc")) == "handle : abc\n"
    assert format_response(NetInResponse(container_port=8080, host_port=61001)) == (
        "host_port : 61001\ncontainer_port : 8080\n"
    )


def test_empty_response_prints_nothing() -> None:
    assert format_response(PingResponse()) == ""
    assert format_response(ListResponse()) == ""


def test_repeated_fields_are_indexed() -> None:
    assert format_response(ListResponse(handles=["a", "b"])) == ("handles[0] : a\nhandles[1] : b\n")


def test_nested_fields_are_dotted_and_unset_ones_left_out() -> None:
    info = InfoResponse(state="active", events=["out of memory"], job_ids=[7])
    info.memory_stat.rss = 0
    info.bandwidth_stat.in_rate = 5
    assert format_response(info) == (
        "state : active\n"
        "events[0] : out of memory\n"
        "memory_stat.rss : 0\n"
        "bandwidth_stat.in_rate : 5\n"
        "job_ids[0] : 7\n"
    )


def test_repeated_nested_bools_and_enums() -> None:
    request = CreateRequest(
        bind_mounts=[
            CreateRequest.BindMount(src_path="/a", dst_path="/b", mode=CreateRequest.BindMount.RW)
        ]
    )
    assert format_response(request) == (
        "bind_mounts[0].src_path : /a\nbind_mounts[0].dst_path : /b\nbind_mounts[0].mode : RW\n"
    )
    assert format_response(StopRequest(handle="h", background=False, kill=True)) == (
        "handle : h\nbackground : false\nkill : true\n"
    )
    assert format_response(NetOutRequest(handle="h", protocol=NetOutRequest.UDP)) == (
        "handle : h\nprotocol : UDP\n"
    )


def test_bytes_are_shown_as_text() -> None:
    linked = LinkResponse(exit_status=0, stdout=b"caf\xc3\xa9\n", stderr=b"\xff")
    assert format_response(linked) == "exit_status : 0\nstdout : café\n\nstderr : \ufffd\n"
