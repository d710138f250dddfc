"""The one exception of the wire layer."""

from __future__ import annotations

__all__ = ["ProtocolError"]


class ProtocolError(Exception):
    """Bytes or a message that do not follow the warden wire contract.

    Raised for a malformed frame (bad length line, missing CRLF, oversize
    frame), an undecodable or unknown envelope, a message with required fields
    unset, or text that is not valid UTF-8. The message names what was wrong.
    """
