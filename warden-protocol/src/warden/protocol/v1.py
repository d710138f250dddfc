"""The v1 compatibility layer: v1 command lists to v2 requests, v2 responses to v1 values.

A v1 command is a list ``[command, args...]`` as the original's JSON-array API
took it (``["run", handle, "echo hi"]``). ``request_from_v1`` builds the v2
request; ``response_to_v1`` turns the v2 response into the value the v1 API
returned. The table, its quirks and its error messages follow the original
Ruby client's v1 translation. Both clients (``warden.client``,
``warden.twisted_client``) use it and re-export its names; its tests run
through the blocking client (``warden-client/tests/test_v1.py``).

::

    >>> from warden.protocol.v1 import request_from_v1
    >>> request = request_from_v1(["run", "h1", "echo hi"])
    >>> type(request).__name__, request.handle, request.script
    ('RunRequest', 'h1', 'echo hi')

Malformed commands raise ``warden.protocol.errors.V1Error``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ._envelope import to_dict
from ._messages import (
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
    InfoRequest,
    InfoResponse,
    LimitBandwidthRequest,
    LimitBandwidthResponse,
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
    RunRequest,
    RunResponse,
    SpawnRequest,
    SpawnResponse,
    StopRequest,
    StopResponse,
    StreamRequest,
    StreamResponse,
)
from ._types import Request, Response
from .errors import V1Error

__all__ = ["V1_COMMANDS", "is_v1_command", "request_from_v1", "response_to_v1"]

_UINT32_MAX: Final = 2**32 - 1
_UINT64_MAX: Final = 2**64 - 1
# Ruby's Integer() reads a leading zero as octal ("010" is 8).
_RUBY_OCTAL = re.compile(r"[+-]?0[0-7]+(?:_[0-7]+)*")


#: What a v1 command may be (a tuple, not the union, for a cheaper check).
_COMMAND_TYPES: Final = (list, tuple)


def is_v1_command(value: object) -> bool:
    """True for what switches a client to v1 mode: a list or tuple command."""
    return isinstance(value, _COMMAND_TYPES)


def request_from_v1(command: Sequence[Any]) -> Request:
    """The v2 request for a v1 command list; V1Error says what is malformed.

    The command name is case-insensitive; extra arguments are ignored, as the
    original did. A field the command leaves unset that the request requires
    (``["stop"]`` has no handle) is reported when the request is encoded.
    """
    if not is_v1_command(command):
        raise TypeError(f"a v1 command is a list [command, args...], got {type(command).__name__}")
    if not command:
        raise V1Error("Unknown command: (empty v1 command)")
    name, args = command[0], _Args(command[1:])
    convert = _REQUESTS.get(str(name).lower())
    if convert is None:
        raise V1Error(f"Unknown command: {str(name).upper()}")
    return convert(args)


def response_to_v1(response: Response) -> Any:
    """The v1 value of a v2 response; V1Error for a response with no v1 form."""
    convert = _RESPONSES.get(type(response))
    if convert is None:
        raise V1Error(f"Unknown response: {type(response).__name__}")
    return convert(response)


class _Args:
    """The arguments after the command name, taken one at a time as the original did."""

    def __init__(self, args: Sequence[Any]) -> None:
        self._args = list(args)

    def take(self) -> Any:
        return self._args.pop(0) if self._args else None

    def empty(self) -> bool:
        return not self._args


def _ruby_integer(value: Any, what: str, maximum: int) -> int:
    """Ruby's ``Integer()``: ints, truncated floats, and decimal/0x/0b/0o/octal text."""
    if isinstance(value, bool) or value is None:
        shown = "nil" if value is None else str(value).lower()
        raise V1Error(f"{what}: can't convert {shown} into Integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise V1Error(f"{what}: {value} cannot be converted to Integer")
        number = int(value)
    else:
        text = str(value).strip()
        try:
            number = int(text, 8) if _RUBY_OCTAL.fullmatch(text) else int(text, 0)
        except ValueError:
            raise V1Error(f'{what}: invalid value for Integer(): "{value}"') from None
    if not 0 <= number <= maximum:
        raise V1Error(f"{what}: {number} is out of range (0 to {maximum})")
    return number


def _text(value: Any, what: str) -> str | None:
    """A string field's value; None leaves the field unset."""
    if value is None or isinstance(value, str):
        return value
    raise V1Error(f"{what}: expected a string, got {type(value).__name__} {value!r}")


def _bind_mount(entry: Any) -> CreateRequest.BindMount:
    if not isinstance(entry, list | tuple) or len(entry) < 3:
        raise V1Error(f"create: a bind mount is [src_path, dst_path, mode], got {entry!r}")
    src_path, dst_path, mode = entry[0], entry[1], entry[2]
    if isinstance(mode, Mapping):
        mode = mode.get("mode")
    mode_name = "" if mode is None else str(mode).upper()
    if mode_name not in CreateRequest.BindMount.Mode.DESCRIPTOR.values_by_name:
        raise V1Error(
            f"create: uninitialized constant CreateRequest::BindMount::Mode::{mode_name} "
            f"(bind mount mode {mode!r}; expected ro or rw)"
        )
    return CreateRequest.BindMount(
        src_path=_text(src_path, "create: bind mount src_path"),
        dst_path=_text(dst_path, "create: bind mount dst_path"),
        mode=mode_name,
    )


def _create(args: _Args) -> Request:
    config = args.take()
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise V1Error(f"create: the config must be a mapping, got {type(config).__name__}")
    request = CreateRequest()
    for key, value in config.items():
        # Other keys are ignored, as the original did.
        if key == "bind_mounts":
            if value is not None and not isinstance(value, list | tuple):
                raise V1Error(f"create: bind_mounts must be a list, got {type(value).__name__}")
            request.bind_mounts.extend(_bind_mount(entry) for entry in value or ())
        elif key == "grace_time":
            request.grace_time = _ruby_integer(value, "create: grace_time", _UINT32_MAX)
    return request


# Each message class's constructor takes its own fields (the stubs say so), so
# the request classes are passed as callables, not as ``type[Message]``.
def _handle_only(cls: Callable[..., Request], command: str) -> Callable[[_Args], Request]:
    def convert(args: _Args) -> Request:
        return cls(handle=_text(args.take(), f"{command}: handle"))

    return convert


def _script_request(cls: Callable[..., Request], command: str) -> Callable[[_Args], Request]:
    def convert(args: _Args) -> Request:
        handle = _text(args.take(), f"{command}: handle")
        return cls(handle=handle, script=_text(args.take(), f"{command}: script"))

    return convert


def _job_request(cls: Callable[..., Request], command: str) -> Callable[[_Args], Request]:
    def convert(args: _Args) -> Request:
        handle = _text(args.take(), f"{command}: handle")
        job_id = _ruby_integer(args.take(), f"{command}: job_id", _UINT32_MAX)
        return cls(handle=handle, job_id=job_id)

    return convert


def _net(args: _Args) -> Request:
    handle, direction = _text(args.take(), "net: handle"), args.take()
    if direction == "in":
        return NetInRequest(handle=handle)
    if direction == "out":
        target = args.take()
        if not isinstance(target, str):
            raise V1Error(f"net out: expected NETWORK:PORT, got {target!r}")
        network, _, port = target.partition(":")
        if not _:
            raise V1Error(f"net out: expected NETWORK:PORT, got {target!r} (no port)")
        return NetOutRequest(
            handle=handle, network=network, port=_ruby_integer(port, "net out: port", _UINT32_MAX)
        )
    raise V1Error(f"Unknown net direction: {'' if direction is None else direction}")


def _copy(args: _Args) -> Request:
    handle, direction = _text(args.take(), "copy: handle"), args.take()
    src_path = _text(args.take(), "copy: src_path")
    dst_path = _text(args.take(), "copy: dst_path")
    owner = _text(args.take(), "copy: owner")
    if direction == "in":
        return CopyInRequest(handle=handle, src_path=src_path, dst_path=dst_path)
    if direction == "out":
        return CopyOutRequest(handle=handle, src_path=src_path, dst_path=dst_path, owner=owner)
    raise V1Error(f"Unknown copy direction: {'' if direction is None else direction}")


def _limit(args: _Args) -> Request:
    handle, limit = _text(args.take(), "limit: handle"), args.take()

    def optional_integer(what: str) -> int | None:
        if args.empty():
            return None
        return _ruby_integer(args.take(), f"limit {limit}: {what}", _UINT64_MAX)

    if limit == "mem":
        return LimitMemoryRequest(handle=handle, limit_in_bytes=optional_integer("limit_in_bytes"))
    if limit == "disk":
        return LimitDiskRequest(handle=handle, byte=optional_integer("byte"))
    if limit == "bandwidth":
        rate = optional_integer("rate")
        burst = optional_integer("burst")
        return LimitBandwidthRequest(handle=handle, rate=rate, burst=burst)
    raise V1Error(f"Unknown limit: {'' if limit is None else limit}")


def _echo(args: _Args) -> Request:
    return EchoRequest(message=_text(args.take(), "echo: message"))


#: v1 command name -> converter of its arguments into the v2 request.
_REQUESTS: Final[dict[str, Callable[[_Args], Request]]] = {
    "create": _create,
    "stop": _handle_only(StopRequest, "stop"),
    "destroy": _handle_only(DestroyRequest, "destroy"),
    "info": _handle_only(InfoRequest, "info"),
    "spawn": _script_request(SpawnRequest, "spawn"),
    "link": _job_request(LinkRequest, "link"),
    "stream": _job_request(StreamRequest, "stream"),
    "run": _script_request(RunRequest, "run"),
    "net": _net,
    "copy": _copy,
    "limit": _limit,
    "ping": lambda _args: PingRequest(),
    "list": lambda _args: ListRequest(),
    "echo": _echo,
}

#: The v1 command names, in the order of the original's table.
V1_COMMANDS: Final[tuple[str, ...]] = tuple(_REQUESTS)


def _optional(message: Any, name: str) -> Any:
    """A field's value, None when unset (the original's nil)."""
    return getattr(message, name) if message.HasField(name) else None


def _output(response: Any) -> list[Any]:
    return [
        _optional(response, "exit_status"),
        _optional(response, "stdout"),
        _optional(response, "stderr"),
    ]


def _ok(_response: Any) -> str:
    return "ok"


#: Response class -> its v1 value. LimitCpu (v2 only) has none.
_RESPONSES: Final[dict[type[Response], Callable[[Any], Any]]] = {
    CreateResponse: lambda r: r.handle,
    StopResponse: _ok,
    DestroyResponse: _ok,
    InfoResponse: to_dict,
    SpawnResponse: lambda r: r.job_id,
    LinkResponse: _output,
    StreamResponse: lambda r: [
        _optional(r, "name"),
        _optional(r, "data"),
        _optional(r, "exit_status"),
    ],
    RunResponse: _output,
    NetInResponse: to_dict,
    NetOutResponse: _ok,
    CopyInResponse: _ok,
    CopyOutResponse: _ok,
    LimitMemoryResponse: lambda r: _optional(r, "limit_in_bytes"),
    LimitDiskResponse: lambda r: _optional(r, "byte"),
    LimitBandwidthResponse: lambda r: f"rate: {r.rate} burst: {r.burst}",
    PingResponse: lambda _r: "pong",
    ListResponse: lambda r: list(r.handles),
    EchoResponse: lambda r: r.message,
}
