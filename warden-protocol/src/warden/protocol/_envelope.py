# -*- test-case-name: tests.test_envelope -*-
"""The ``Message`` envelope: wrap a request or response, unwrap it by type.

Encoding and decoding both enforce the contract the original enforced:
required fields must be set. Decoding also checks that text fields hold valid
UTF-8 (fields that carry job output are declared ``bytes`` and hold anything).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, EncodeError
from google.protobuf.message import Message as _PbMessage

from ._framing import DEFAULT_MAX_FRAME_SIZE, FrameDecoder
from ._types import (
    REQUEST_TYPES,
    RESPONSE_TYPES,
    filtered_fields,
    is_request,
    is_response,
    request_class,
    response_class,
    response_class_for,
    type_number,
)
from .errors import ProtocolError

__all__ = [
    "MessageDecoder",
    "decode_message",
    "empty_response_wire",
    "encode_message",
    "output_response_parts",
    "request_to_wire",
    "response_to_wire",
    "to_dict",
    "filtered_dict",
    "unwrap",
    "unwrap_request",
    "unwrap_response",
    "wrap",
]

_TAG_TYPE = 0x08  # field 1, varint
_TAG_PAYLOAD = 0x12  # field 2, length-delimited
#: One byte each: the varints of 0 to 127.
_BYTES = tuple(bytes((n,)) for n in range(128))


def encode_message(message: _PbMessage) -> bytes:
    """Serialise one message; ProtocolError names unset required fields."""
    try:
        return message.SerializeToString()
    except EncodeError as error:
        raise ProtocolError(str(error)) from error


def decode_message(cls: type[_PbMessage], data: bytes | memoryview) -> _PbMessage:
    """Parse ``data`` as ``cls`` and check required fields and text fields."""
    message = cls()
    try:
        message.ParseFromString(data)  # type: ignore[arg-type]  # upb takes any buffer
    except DecodeError as error:
        raise ProtocolError(f"cannot decode {cls.__name__}: {error}") from error
    if not message.IsInitialized():
        missing = ", ".join(message.FindInitializationErrors())  # type: ignore[attr-defined]
        raise ProtocolError(f"{cls.__name__} is missing required fields: {missing}")
    if _holds_text(cls):
        _check_text(message, cls.__name__)
    return message


#: Message type -> whether it has string fields, or messages that may have some.
_HOLDS_TEXT: dict[type[_PbMessage], bool] = {}


def _holds_text(cls: type[_PbMessage]) -> bool:
    holds = _HOLDS_TEXT.get(cls)
    if holds is None:
        kinds = (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_MESSAGE)
        holds = _HOLDS_TEXT[cls] = any(f.type in kinds for f in cls.DESCRIPTOR.fields)
    return holds


@cache
def _text_fields(
    descriptor: Descriptor,
) -> tuple[tuple[tuple[str, bool], ...], tuple[tuple[str, bool], ...]]:
    """(name, repeated) of the string fields of a message type, and of its message fields."""
    fields = descriptor.fields
    return (
        tuple((f.name, f.is_repeated) for f in fields if f.type == FieldDescriptor.TYPE_STRING),
        tuple((f.name, f.is_repeated) for f in fields if f.type == FieldDescriptor.TYPE_MESSAGE),
    )


def _check_text(message: _PbMessage, where: str) -> None:
    # upb hands back raw bytes for a string field that is not valid UTF-8.
    texts, messages = _text_fields(message.DESCRIPTOR)
    for name, repeated in texts:
        values = getattr(message, name) if repeated else (getattr(message, name),)
        for value in values:
            if isinstance(value, bytes):
                raise ProtocolError(f"{where}.{name} is not valid UTF-8: {value[:32]!r}")
    # Only the message fields are looked at (ListFields would copy every bytes field).
    for name, repeated in messages:
        if repeated:
            nested = getattr(message, name)
        elif message.HasField(name):
            nested = (getattr(message, name),)
        else:
            continue
        for item in nested:
            _check_text(item, f"{where}.{name}")


def wrap(message: _PbMessage) -> bytes:
    """Encode a request or response inside its ``Message`` envelope."""
    payload = encode_message(message)
    return b"%s%s%s" % (_prefix(type(message)), _varint(len(payload)), payload)


#: Message type -> the envelope's bytes before the payload's length.
_PREFIXES: dict[type[_PbMessage], bytes] = {}


def _prefix(cls: type[_PbMessage]) -> bytes:
    prefix = _PREFIXES.get(cls)
    if prefix is None:
        prefix = _PREFIXES[cls] = b"%c%s%c" % (_TAG_TYPE, _varint(type_number(cls)), _TAG_PAYLOAD)
    return prefix


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _BYTES[value]
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def unwrap(envelope: bytes) -> tuple[int, bytes]:
    """Split envelope bytes into (type number, payload).

    Parsed by hand so that an unknown type number can be named (a closed proto2
    enum would silently drop it) and because it sits on every request's path.
    """
    number, payload = _split(envelope)
    return number, payload if isinstance(payload, bytes) else bytes(payload)


#: Payloads from this size up are passed on as views of the envelope, not copied.
_VIEW_FROM = 4096


def _split(envelope: bytes | memoryview) -> tuple[int, bytes | memoryview]:
    """``unwrap`` on the decoders' path: a large payload as a view, not a copy."""
    # What every encoder writes (the type in one byte, then the payload, and
    # nothing else) is taken apart here; anything else goes the long way.
    end = len(envelope)
    if end > 3 and envelope[0] == _TAG_TYPE and envelope[1] < 0x80 and envelope[2] == _TAG_PAYLOAD:
        size = shift = 0
        pos = 3
        while pos < end and pos < 8:
            byte = envelope[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if pos + size == end:
                    if size < _VIEW_FROM:
                        return envelope[1], envelope[pos:]
                    return envelope[1], memoryview(envelope)[pos:]
                break
            shift += 7
    return _unwrap_slowly(bytes(envelope))


def _unwrap_slowly(envelope: bytes) -> tuple[int, bytes]:
    number: int | None = None
    payload: bytes | None = None
    pos, end = 0, len(envelope)
    try:
        while pos < end:
            key, pos = _read_varint(envelope, pos)
            field, wire = key >> 3, key & 7
            if wire == 0:
                value, pos = _read_varint(envelope, pos)
                if field == 1:
                    number = value
            elif wire == 2:
                size, pos = _read_varint(envelope, pos)
                if pos + size > end:
                    raise ProtocolError("envelope payload is truncated")
                if field == 2:
                    payload = envelope[pos : pos + size]
                pos += size
            elif wire == 1:
                pos += 8
            elif wire == 5:
                pos += 4
            else:
                raise ProtocolError(f"envelope has an unsupported wire type {wire}")
            if field in (1, 2) and (wire, field) not in ((0, 1), (2, 2)):
                raise ProtocolError(f"envelope field {field} has the wrong wire type")
    except IndexError:
        raise ProtocolError("envelope is truncated") from None
    if pos != end:
        raise ProtocolError("envelope is truncated")
    if number is None:
        raise ProtocolError("envelope is missing required fields: type")
    if payload is None:
        raise ProtocolError("envelope is missing required fields: payload")
    return number, payload


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtocolError("envelope varint is too long")


def unwrap_request(envelope: bytes | memoryview) -> _PbMessage:
    """Decode envelope bytes into the request they carry."""
    number, payload = _split(envelope)
    return decode_message(request_class(number), payload)


def unwrap_response(envelope: bytes | memoryview) -> _PbMessage:
    """Decode envelope bytes into the response they carry."""
    number, payload = _split(envelope)
    return decode_message(response_class(number), payload)


def request_to_wire(request: _PbMessage) -> bytes:
    """A whole frame for a request."""
    frame = _EMPTY_REQUEST_WIRE.get(type(request))
    if frame is not None and not request.ByteSize():
        return frame  # a request with nothing set (a Ping): its bytes never change
    if not is_request(request):
        raise ProtocolError(f"expected a request, got {type(request).__name__}")
    return _frame(request)


def response_to_wire(response: _PbMessage) -> bytes:
    """A whole frame for a response."""
    if not is_response(response):
        raise ProtocolError(f"expected a response, got {type(response).__name__}")
    return _frame(response)


#: Fields 2 and 3 (length-delimited) of RunResponse and LinkResponse.
_TAG_STDOUT = b"\x12"
_TAG_STDERR = b"\x1a"
_TAG_EXIT_STATUS = 0x08  # field 1, varint


def output_response_parts(response: _PbMessage, stdout: bytes, stderr: bytes) -> list[bytes]:
    """``response_to_wire`` of a RunResponse or LinkResponse whose ``stdout``
    and ``stderr`` are these (``response`` has neither set), in parts: the
    output stays the caller's objects instead of being copied into the
    message, its encoding and the frame (three copies of a job's megabytes).
    Joined, the parts are ``response_to_wire``'s bytes, byte for byte: the
    fields go in number order, exit_status (1), stdout (2), stderr (3),
    info (4), as the encoder writes them.
    """
    if not is_response(response):
        raise ProtocolError(f"expected a response, got {type(response).__name__}")
    if response.HasField("stdout") or response.HasField("stderr"):
        raise ValueError("the output goes beside the response, not in it")
    rest = encode_message(response)
    head = b""
    if response.HasField("exit_status"):
        head = b"%c%s" % (_TAG_EXIT_STATUS, _varint(response.exit_status))  # type: ignore[attr-defined]
        if not rest.startswith(head):  # an encoder that orders fields otherwise
            raise ProtocolError("unexpected field order in " + type(response).__name__)
        rest = rest[len(head) :]
    out_head = b"%s%s" % (_TAG_STDOUT, _varint(len(stdout)))
    err_head = b"%s%s" % (_TAG_STDERR, _varint(len(stderr)))
    size = len(head) + len(out_head) + len(stdout) + len(err_head) + len(stderr) + len(rest)
    prefix = _prefix(type(response))
    length = _varint(size)
    header = b"%d\r\n%s%s%s%s" % (len(prefix) + len(length) + size, prefix, length, head, out_head)
    return [header, stdout, err_head, stderr, rest + b"\r\n"]


def _frame(message: _PbMessage) -> bytes:
    """``encode_frame(wrap(message))`` in one copy of the payload."""
    payload = encode_message(message)
    prefix = _prefix(type(message))
    size = _varint(len(payload))
    return b"%d\r\n%s%s%s\r\n" % (len(prefix) + len(size) + len(payload), prefix, size, payload)


def _empty_frames(classes: Iterator[type[_PbMessage]]) -> dict[type[_PbMessage], bytes]:
    """The frame of each class whose message with nothing set is a valid one."""
    return {cls: _frame(cls()) for cls in classes if cls().IsInitialized()}


#: Request class -> its frame with nothing set, where that is a valid request.
_EMPTY_REQUEST_WIRE: dict[type[_PbMessage], bytes] = _empty_frames(iter(REQUEST_TYPES.values()))
#: The same for responses (PingResponse, DestroyResponse ...).
_EMPTY_RESPONSE_WIRE: dict[type[_PbMessage], bytes] = _empty_frames(iter(RESPONSE_TYPES.values()))


def empty_response_wire(cls: type[_PbMessage]) -> bytes | None:
    """The frame of a response of class ``cls`` with nothing set, if that is a
    valid response (else None).

    For the clients' shortcut: received bytes equal to it decode to ``cls()``
    (what ``unwrap_response`` would give), with nothing to parse.
    """
    return _EMPTY_RESPONSE_WIRE.get(cls)


#: Request class -> ``expected_response``'s answer, worked out once per class.
_EXPECTED: dict[type[_PbMessage], tuple[type[_PbMessage], bytes | None]] = {}


def expected_response(request: type[_PbMessage]) -> tuple[type[_PbMessage], bytes | None]:
    """What answers a request of class ``request``: the response class, and
    that response's frame with nothing set (``empty_response_wire``).

    Both clients look this up for every request they send.
    """
    answer = _EXPECTED.get(request)
    if answer is None:
        expected = response_class_for(request)
        answer = _EXPECTED[request] = (expected, empty_response_wire(expected))
    return answer


class MessageDecoder:
    """Frames in, requests or responses out.

    ``MessageDecoder("request")`` is the server side, ``"response"`` the client
    side. Feed bytes, then iterate; a malformed frame or message raises
    ProtocolError and the decoder stays broken.
    """

    def __init__(self, kind: str, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        if kind not in ("request", "response"):
            raise ValueError("kind must be 'request' or 'response'")
        self._frames = FrameDecoder(max_frame_size)
        self._unwrap = unwrap_request if kind == "request" else unwrap_response
        self._error: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet decoded."""
        return self._frames.buffered

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes (copied: the caller may reuse its buffer)."""
        self._frames.feed(data)

    def __iter__(self) -> Iterator[_PbMessage]:
        return self

    def __next__(self) -> _PbMessage:
        message = self.next_message()
        if message is None:
            raise StopIteration
        return message

    def next_message(self) -> _PbMessage | None:
        """The next complete message, or None until more bytes arrive."""
        if self._error is not None:
            raise self._error
        payload = self._frames.next_payload()
        if payload is None:
            return None
        try:
            return self._unwrap(payload)
        except ProtocolError as error:
            self._error = error
            raise


def to_dict(message: _PbMessage) -> dict[str, Any]:
    """The set fields of a message, nested messages as dicts, enums by number."""
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.is_repeated:
                out[field.name] = [to_dict(item) for item in value]
            else:
                out[field.name] = to_dict(value)
        elif field.is_repeated:
            out[field.name] = list(value)
        else:
            out[field.name] = value
    return out


def filtered_dict(message: _PbMessage) -> dict[str, Any]:
    """``to_dict`` without the fields kept out of logs."""
    out = to_dict(message)
    for name in filtered_fields(message):
        out.pop(name, None)
    return out
