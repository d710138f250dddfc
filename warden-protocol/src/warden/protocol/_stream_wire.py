# -*- test-case-name: tests.test_envelope -*-
"""A Stream chunk's frame, written without building the message.

A job's output goes to a Stream client as ``StreamResponse(name=..., data=...)``
frames, up to 64 KiB each, many per second: building the message and
serialising it copies the data twice more than writing the frame directly.
The bytes are those of ``response_to_wire(StreamResponse(name=name,
data=data))`` (the golden tests of the envelope hold them to it).
"""

from __future__ import annotations

from ._envelope import _prefix, _varint
from ._messages import StreamResponse

__all__ = ["stream_chunk_wire"]

#: The envelope's bytes before the payload's length.
_PREFIX = _prefix(StreamResponse)
#: StreamResponse.name (field 1) and .data (field 2), length-delimited.
_TAG_NAME = b"\x0a"
_TAG_DATA = b"\x12"


def stream_chunk_wire(name: str, data: bytes) -> bytes:
    """``response_to_wire(StreamResponse(name=name, data=data))``, in one copy of ``data``."""
    text = name.encode()
    fields = b"%s%s%s%s%s" % (_TAG_NAME, _varint(len(text)), text, _TAG_DATA, _varint(len(data)))
    size = _varint(len(fields) + len(data))
    length = len(_PREFIX) + len(size) + len(fields) + len(data)
    # join sizes the result first and copies ``data`` once (``%`` may copy it twice).
    return b"".join((b"%d\r\n%s%s%s" % (length, _PREFIX, size, fields), data, b"\r\n"))
