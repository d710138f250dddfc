# -*- test-case-name: tests.test_framing -*-
"""Length framing: ``<decimal length>\\r\\n<payload>\\r\\n``.

The decoder is a pure parser, separate from any I/O: feed it bytes in any
chunking and iterate over the complete payloads. It never yields a partial or
wrong payload; once it has met malformed input it stays broken, because the
byte stream can no longer be trusted.
"""

from __future__ import annotations

from collections.abc import Iterator

from .errors import ProtocolError

__all__ = ["DEFAULT_MAX_FRAME_SIZE", "FrameDecoder", "encode_frame"]

#: Large enough for a LinkResponse carrying the default 10 MiB job output limit
#: of stdout and stderr plus its info.
DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024

_CRLF = b"\r\n"
# Longest length line we wait for before calling the input garbage.
_MAX_LENGTH_DIGITS = 20
# Payloads from this size on may be handed over without a copy (next_payload).
_HAND_OVER = 64 * 1024


def encode_frame(payload: bytes) -> bytes:
    """Frame one payload (an encoded envelope) for the wire."""
    return b"%d\r\n%s\r\n" % (len(payload), payload)


class FrameDecoder:
    """Incremental frame decoder.

    >>> d = FrameDecoder()
    >>> d.feed(b"3\\r\\nabc\\r\\n3\\r")
    >>> list(d)
    [b'abc']
    """

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self.max_frame_size = max_frame_size
        self._buffer = bytearray()
        # Start of unconsumed data in _buffer; compacted lazily so that a large
        # frame arriving in many chunks costs linear time, not quadratic.
        self._start = 0
        # Length of the frame whose header has been parsed, with header size.
        self._pending: tuple[int, int] | None = None
        self._error: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a payload."""
        return len(self._buffer) - self._start

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes; iterate the decoder to take out payloads."""
        self._buffer += data

    def __iter__(self) -> Iterator[bytes | memoryview]:
        return self

    def __next__(self) -> bytes | memoryview:
        payload = self.next_payload()
        if payload is None:
            raise StopIteration
        return payload

    def next_payload(self) -> bytes | memoryview | None:
        """The next complete payload, or None until more bytes arrive.

        What iterating does, without a StopIteration per empty turn: on every
        request's path, so the header and the payload are parsed inline. A
        payload of ``_HAND_OVER`` bytes or more that was all the decoder held
        comes as a read-only view of the buffer it arrived in (which the
        decoder then lets go), not as a copy.
        """
        if self._error is not None:
            raise self._error
        buf, start = self._buffer, self._start
        pending = self._pending
        try:
            if pending is None:
                end = buf.find(_CRLF, start, start + _MAX_LENGTH_DIGITS + 2)
                if end < 0:
                    if len(buf) - start > _MAX_LENGTH_DIGITS + 1:
                        raise ProtocolError(
                            "frame length line is not a decimal number followed by CRLF: "
                            f"{bytes(buf[start : start + 24])!r}"
                        )
                    return None
                line = buf[start:end]
                if not line or not line.isdigit() or not line.isascii():
                    raise ProtocolError(
                        f"frame length must be a non-negative decimal number, got {bytes(line)!r}"
                    )
                length = int(line)
                if length > self.max_frame_size:
                    raise ProtocolError(
                        f"frame length {length} exceeds the maximum of {self.max_frame_size} bytes"
                    )
                pending = self._pending = (length, end + 2 - start)
            length, header = pending
            body = start + header
            stop = body + length
            if len(buf) < stop + 2:
                return None
            if buf[stop] != 13 or buf[stop + 1] != 10:
                raise ProtocolError(
                    f"frame of {length} bytes is not followed by CRLF "
                    f"(found {bytes(buf[stop : stop + 2])!r})"
                )
        except ProtocolError as error:
            self._error = error
            raise
        self._pending = None
        if length < 4096:
            payload = bytes(buf[body:stop])  # a slice and a copy: cheaper than a view
        elif length >= _HAND_OVER and stop + 2 == len(buf):
            # The frame is all that is buffered (a large response, as a rule):
            # the buffer itself becomes the payload, as a view, and a new one
            # takes its place. A megabyte is not copied once more.
            self._buffer = bytearray()
            self._start = 0
            return memoryview(buf).toreadonly()[body:stop]
        else:
            with memoryview(buf) as view:
                payload = bytes(view[body:stop])
        start = stop + 2
        if start == len(buf):
            buf.clear()
            start = 0
        elif start > 65536 and start * 2 > len(buf):
            del buf[:start]
            start = 0
        self._start = start
        return payload
