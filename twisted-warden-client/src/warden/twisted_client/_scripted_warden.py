# -*- test-case-name: tests.test_connection -*-
"""``scripted_warden``: canned answers for every request type, misbehaviours on demand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from twisted.internet.defer import Deferred

from warden.protocol import (
    CopyInRequest,
    CopyInResponse,
    CopyOutRequest,
    CopyOutResponse,
    CreateRequest,
    CreateResponse,
    DestroyRequest,
    DestroyResponse,
    EchoRequest,
    EchoResponse,
    ErrorResponse,
    InfoRequest,
    InfoResponse,
    LimitBandwidthRequest,
    LimitBandwidthResponse,
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
    NetInResponse,
    NetOutRequest,
    NetOutResponse,
    PingRequest,
    PingResponse,
    Request,
    Response,
    RunRequest,
    RunResponse,
    SpawnRequest,
    SpawnResponse,
    StopRequest,
    StopResponse,
    StreamRequest,
    StreamResponse,
    response_to_wire,
)

__all__ = ["Answering", "output_pattern", "scripted_warden"]


class Answering(Protocol):
    """What the canned answers use of a connection (``ServerConnection`` has it).

    Declared here so that this module does not import the scripted server,
    which imports it for its default handler.
    """

    def respond(self, response: Response) -> None:
        """Send one response frame."""

    def error(
        self, message: str, data: str | None = None, backtrace: list[str] | None = None
    ) -> None:
        """Send an ErrorResponse."""

    def write(self, data: bytes) -> None:
        """Send raw bytes."""

    def later(self, seconds: float, action: Callable[..., Any], *args: Any) -> Deferred[Any]:
        """Run ``action(*args)`` after a delay, unless the connection is gone by then."""

    def write_bytewise(self, data: bytes, interval: float = 0.001) -> Deferred[Any]:
        """Send ``data`` one byte per write."""

    def close(self) -> None:
        """Close after what was written has been sent."""


def output_pattern(size: int) -> bytes:
    """``size`` bytes of a recognisable pattern, for large outputs."""
    block = bytes(range(256))
    return (block * (size // 256 + 1))[:size]


def _echo(conn: Answering, request: EchoRequest) -> Deferred[Any] | None:
    """Echo, unless the message names a misbehaviour."""
    command, _, rest = request.message.partition(" ")
    frame = response_to_wire(EchoResponse(message=rest or request.message))
    if command == "error":
        conn.error(f"echo failed: {rest}", data="some data", backtrace=["frame 1", "frame 2"])
    elif command == "close":
        conn.close()
    elif command == "close-mid-frame":
        conn.write(frame[: len(frame) // 2])
        conn.close()
    elif command == "slow":
        seconds, _, message = rest.partition(" ")
        return conn.later(float(seconds), conn.respond, EchoResponse(message=message))
    elif command == "bytewise":
        return conn.write_bytewise(frame)
    elif command == "garbage":
        conn.write(b"not a length\r\n")
    elif command == "wrong-type":
        conn.respond(PingResponse())
    else:
        conn.respond(EchoResponse(message=request.message))
    return None


def _stream(conn: Answering, request: StreamRequest) -> Deferred[Any] | None:
    """``job_id`` chunks, then the exit status ``job_id % 256``.

    Handles: ``cut`` closes after the chunks without the last frame, ``cut-mid-frame``
    also leaves half a frame, ``error`` answers an ErrorResponse after the chunks,
    ``slow`` sends a chunk every 10 ms.
    """
    interval = 0.01 if request.handle == "slow" else 0.0
    frames = [
        response_to_wire(StreamResponse(name=("stdout", "stderr")[i % 2], data=b"chunk %d\n" % i))
        for i in range(request.job_id)
    ]
    if request.handle == "cut":
        last = b""
    elif request.handle == "cut-mid-frame":
        whole = response_to_wire(StreamResponse(name="stdout", data=b"never complete"))
        last = whole[: len(whole) // 2]
    elif request.handle == "error":
        last = response_to_wire(ErrorResponse(message="stream failed"))
    else:
        final = StreamResponse(exit_status=request.job_id % 256, info=InfoResponse(state="active"))
        last = response_to_wire(final)

    def send(index: int) -> Deferred[Any] | None:
        if index < len(frames):
            conn.write(frames[index])
            if interval:
                return conn.later(interval, send, index + 1)
            return send(index + 1)
        conn.write(last)
        if request.handle.startswith("cut"):
            conn.close()
        return None

    return send(0)


def _canned(request: Request) -> Response:
    """A response for each other request type, echoing its fields where it can."""
    if isinstance(request, CreateRequest):
        return CreateResponse(handle=request.handle if request.HasField("handle") else "h-new")
    if isinstance(request, StopRequest):
        return StopResponse()
    if isinstance(request, DestroyRequest):
        return DestroyResponse()
    if isinstance(request, InfoRequest):
        return InfoResponse(
            state="active",
            events=["out of memory"],
            container_path=f"/depot/{request.handle}",
            memory_stat=InfoResponse.MemoryStat(cache=1, rss=2),
            job_ids=[1, 2],
        )
    if isinstance(request, SpawnRequest):
        return SpawnResponse(job_id=len(request.script))
    if isinstance(request, LinkRequest):
        # job_id is the size of the output: a 10 MiB job output is job_id=10485760.
        return LinkResponse(exit_status=0, stdout=output_pattern(request.job_id), stderr=b"err")
    if isinstance(request, RunRequest):
        return RunResponse(exit_status=3, stdout=request.script.encode(), stderr=b"\xff\x00")
    if isinstance(request, NetInRequest):
        return NetInResponse(host_port=61001, container_port=request.container_port or 61001)
    if isinstance(request, NetOutRequest):
        return NetOutResponse()
    if isinstance(request, CopyInRequest):
        return CopyInResponse()
    if isinstance(request, CopyOutRequest):
        return CopyOutResponse()
    if isinstance(request, LimitMemoryRequest):
        return LimitMemoryResponse(limit_in_bytes=request.limit_in_bytes or 1024)
    if isinstance(request, LimitDiskRequest):
        return LimitDiskResponse(byte=request.byte or 2048, block=7)
    if isinstance(request, LimitBandwidthRequest):
        return LimitBandwidthResponse(rate=request.rate, burst=request.burst)
    if isinstance(request, LimitCpuRequest):
        return LimitCpuResponse(limit_in_shares=request.limit_in_shares or 100)
    if isinstance(request, PingRequest):
        return PingResponse()
    if isinstance(request, ListRequest):
        return ListResponse(handles=["h1", "h2"])
    return ErrorResponse(message=f"scripted server: no answer for {type(request).__name__}")


def scripted_warden(conn: Answering, request: Request) -> Deferred[Any] | None:
    """Answer like a warden server, with misbehaviours on demand.

    Echo messages: ``error X`` (ErrorResponse with data and backtrace), ``close``
    (close without answer), ``close-mid-frame``, ``slow SECONDS MESSAGE``,
    ``bytewise MESSAGE`` (the answer one byte per write), ``garbage`` (a bad
    length line), ``wrong-type`` (a PingResponse); anything else is echoed.
    Stream: see ``_stream``. Link answers ``job_id`` bytes of ``output_pattern``.
    A handle starting with ``missing`` or ``no-such`` gets the ErrorResponse
    ``unknown handle``.
    """
    if isinstance(request, EchoRequest):
        return _echo(conn, request)
    if str(getattr(request, "handle", "")).startswith(("missing", "no-such")):
        conn.error("unknown handle")
    elif isinstance(request, StreamRequest):
        return _stream(conn, request)
    else:
        conn.respond(_canned(request))
    return None
