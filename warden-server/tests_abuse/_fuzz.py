"""Hypothesis strategies for bad input: requests built at the wire level, and
shell payloads aimed at a canary file on the host.

Requests are encoded by hand (protobuf's wire format), so that they can
carry what the generated classes refuse to build: unknown enum values,
numbers past their field's range, invalid UTF-8 in text fields, missing
required fields, unknown fields and type numbers.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import strategies as st

from warden.protocol import REQUEST_TYPES, MessageDecoder
from warden.protocol._framing import encode_frame
from warden.server.testing import unique_token

#: Field name -> strategy of its value (text or number), instead of the generated one.
Overrides = dict[str, st.SearchStrategy[Any]]
#: (type number, the real handle used or None, framed request).
Drawn = tuple[int, str | None, bytes]

#: The file every payload tries to create on the host. It must never appear.
CANARY = Path(f"/tmp/warden-canary-{unique_token()}")

#: Ways of smuggling a command into a shell, a command line, a sed or tar
#: expression, a config file or an option list: each runs ``touch CANARY``
#: if it ever reaches a shell (or tar, or sed) unquoted.
INJECTIONS = [
    "$(touch {c})",
    "`touch {c}`",
    ";touch {c};",
    "x; touch {c} #",
    "|touch {c}",
    "&& touch {c}",
    "\ntouch {c}\n",
    "'; touch {c}; '",
    '"; touch {c}; "',
    "$(IFS=_;c=touch_{c};$c)",
    "${{IFS}}$(touch${{IFS}}{c})",
    "--to-command=touch {c}",
    "--checkpoint-action=exec=touch {c}",
    "-exec touch {c} ;",
    "s/.*/x/e;touch {c}",
    "x/e\ntouch {c}",
    "$'\\x74ouch' {c}",
    'a\\"$(touch {c})\\"',
    "%q$(touch {c})",
    "*",
    "-rf",
    "--help",
]


def injections(prefix: str = "") -> list[str]:
    """Every injection, aimed at the canary, each after ``prefix``."""
    return [prefix + text.format(c=CANARY) for text in INJECTIONS]


#: Characters that mean something to a shell, sed, tar, mount options or paths.
METACHARACTERS = "$`;|&<>()[]{}*?!~#'\"\\\n\t ,:=%^/.-"


def mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], odds: int = 8) -> Any:
    """``common``, and ``rare`` about once in ``odds`` draws: requests broken
    in one way (that the decoder refuses) should not hide the others."""
    # (Not 1 in 1...odds: hypothesis favours the bounds of a range.)
    return st.integers(0, odds - 1).flatmap(lambda n: rare if n == odds // 2 else common)


def nasty_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Text a client should never send: shell payloads, metacharacters,
    traversal, very long strings, control characters, plain random text."""
    return st.one_of(
        st.text(max_size=max_size),
        st.sampled_from(injections()),
        st.text(alphabet=METACHARACTERS + "ab", max_size=max_size),
        st.builds(
            lambda depth, tail: "../" * depth + tail,
            st.integers(1, 12),
            st.sampled_from(["", "etc/passwd", "tmp", str(CANARY).lstrip("/")]),
        ),
        st.builds(lambda n, c: c * n, st.integers(1_000, 200_000), st.sampled_from("a/$.")),
        st.sampled_from(["", " ", "/", ".", "..", "\0", "\x7f", "-", "--", "\u202e", "\ufeff"]),
    )


# -- the wire format --


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative numbers as ten bytes, as protobuf does
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _length_delimited(number: int, data: bytes) -> bytes:
    return _key(number, 2) + _varint(len(data)) + data


_INT_RANGES = {
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_BOOL: (0, 1),
}


def _number(field: FieldDescriptor) -> st.SearchStrategy[int]:
    if field.type == FieldDescriptor.TYPE_ENUM:
        known = [value.number for value in field.enum_type.values]
        # Unknown values too: the generated classes would refuse them.
        return st.one_of(st.sampled_from(known), st.integers(-3, 200), st.just(2**32 + 1))
    low, high = _INT_RANGES[field.type]
    edges = [low, high, high + 1, 2**64 - 1, -1, 0, 1]
    return st.one_of(st.integers(low, high), st.sampled_from(edges), st.integers(0, 2**64 - 1))


def field_bytes(
    field: FieldDescriptor, depth: int, overrides: Overrides
) -> st.SearchStrategy[bytes]:
    """One occurrence of ``field`` on the wire."""
    number = field.number
    if field.name in overrides:
        return overrides[field.name].map(
            lambda text: (
                _length_delimited(number, text.encode("utf-8", "surrogatepass"))
                if isinstance(text, str)
                else _key(number, 0) + _varint(int(text))
            )
        )
    if field.type == FieldDescriptor.TYPE_STRING:
        return mostly(
            nasty_text().map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.binary(max_size=20),  # not always UTF-8
            odds=12,
        ).map(lambda data: _length_delimited(number, data))
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64).map(lambda data: _length_delimited(number, data))
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if depth > 2:
            return st.just(_length_delimited(number, b""))
        return message_bytes(field.message_type, depth + 1, {}).map(
            lambda data: _length_delimited(number, data)
        )
    return _number(field).map(lambda value: _key(number, 0) + _varint(value))


def message_bytes(
    descriptor: Descriptor, depth: int = 0, overrides: Overrides | None = None
) -> st.SearchStrategy[bytes]:
    """A message of ``descriptor``'s type: each field present (required ones
    almost always), some repeated, now and then an unknown field or a field
    with the wrong wire type."""
    overrides = overrides or {}
    parts: list[st.SearchStrategy[bytes]] = []
    for field in descriptor.fields:
        one = field_bytes(field, depth, overrides)
        if field.is_repeated:
            parts.append(st.lists(one, max_size=3).map(b"".join))
        elif field.is_required:
            parts.append(mostly(one, st.just(b""), odds=20))
        else:
            parts.append(st.one_of(one, st.just(b"")))
    unknown_field, truncated = _key(99, 0) + _varint(7), _key(1, 2) + b"\x05ab"
    oddities = mostly(st.just(b""), st.sampled_from([unknown_field, truncated]), odds=15)
    return st.tuples(*parts, oddities).map(b"".join)


#: Type numbers of no request (Error, responses' own, unknown ones).
UNKNOWN_TYPES = [0, 1, 2, 15, 25, 55, 90, 94, 127, 128, 2**31, 2**63]


def envelope(type_number: int, payload: bytes) -> bytes:
    """A framed envelope (``Message``: type 1, payload 2)."""
    return encode_frame(_key(1, 0) + _varint(type_number) + _length_delimited(2, payload))


def wire_requests(
    handles: Sequence[str],
    overrides: Callable[[int, str], Overrides],
    types: Sequence[int] = tuple(REQUEST_TYPES),
) -> st.SearchStrategy[Drawn]:
    """(type number, handle or None, framed request). ``handle`` is one of
    ``handles`` (the fields may be overridden for it through ``overrides``)
    or nasty text; the type number is now and then one of no request."""

    def build(type_number: int, real: str | None) -> st.SearchStrategy[Drawn]:
        cls = REQUEST_TYPES.get(type_number)
        if cls is None:
            return st.binary(max_size=40).map(
                lambda payload: (type_number, None, envelope(type_number, payload))
            )
        fields = dict(overrides(type_number, real)) if real is not None else {}
        if real is not None and "handle" in cls.DESCRIPTOR.fields_by_name:
            fields["handle"] = st.just(real)
        return message_bytes(cls.DESCRIPTOR, 0, fields).map(
            lambda payload: (type_number, real, envelope(type_number, payload))
        )

    any_type = mostly(st.sampled_from(list(types)), st.sampled_from(UNKNOWN_TYPES), odds=12)
    real = mostly(st.sampled_from(list(handles)), st.none(), odds=6) if handles else st.none()
    return st.tuples(any_type, real).flatmap(lambda pair: build(*pair))


def exchange(socket_path: str, frame: bytes, timeout: float) -> list[Any]:
    """Send one frame on a new connection; the responses until the server
    closes it or stays quiet for a moment after the first one."""
    responses: list[Any] = []
    decoder = MessageDecoder("response")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(socket_path)
        sock.sendall(frame)
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                if responses:
                    return responses
                raise
            if not data:
                return responses
            decoder.feed(data)
            responses += list(decoder)
            if responses:
                sock.settimeout(0.05)
