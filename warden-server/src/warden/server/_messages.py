"""Error messages for clients: sentences, never Python's own texts.

A request that fails answers with a message that says what failed. Python's
texts for system errors (``[Errno 2] No such file or directory: '/x'``) and
exception class names are for the server's log; this module turns what may
still carry them into the sentence a client gets.
"""

from __future__ import annotations

import re

__all__ = ["INTERNAL_ERROR", "client_message", "describe", "script_reason"]

#: What a client gets for a failure the server did not foresee (logged in full).
INTERNAL_ERROR = "the server failed to serve the request (its log tells why)"

# "[Errno 16] Device or resource busy", optionally followed by ": 'path'" or
# ": 'path' -> 'path'" as OSError prints its file names.
_ERRNO = re.compile(
    r"\[Errno -?\d+\] ([^:\]\[]+?)"  # the reason
    r"(?:: '([^']*)'(?: -> '([^']*)')?)?"  # the file names
    r"(?=$|[;,)\n]| \(|: )"
)


def _plain(match: re.Match[str]) -> str:
    reason, first, second = match.group(1), match.group(2), match.group(3)
    text = reason[0].lower() + reason[1:] if reason[:2] != reason[:2].upper() else reason
    if first is not None:
        text += f": {first}"
    if second is not None:
        text += f" -> {second}"
    return text


def client_message(message: str) -> str:
    """``message`` with Python's errno texts made plain (``no such file or directory: /x``)."""
    return _ERRNO.sub(_plain, message)


def describe(error: BaseException) -> str:
    """A sentence for an error the server did not turn into a message itself."""
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror[0].lower() + error.strerror[1:]
        if error.filename is not None:
            text += f": {error.filename}"
        return text
    return INTERNAL_ERROR


def script_reason(stderr: bytes, *, lines: int = 3, limit: int = 400) -> str:
    """What a failed script said of its failure: its last lines on stderr, in one line."""
    said = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    text = "; ".join([line for line in said if line][-lines:])
    return text if len(text) <= limit else "..." + text[-limit:]
