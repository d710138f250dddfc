"""Every error the warden wire layer and the warden clients raise.

::

    ProtocolError                 bytes or a message that break the wire contract
    ClientError                   anything a client reports
    ├── ServerError               the server answered with an ErrorResponse
    ├── ClientConnectionError     refused, closed, EOF mid-frame, bad bytes from the server
    │   └── ClientTimeoutError    no answer within the timeout
    └── V1Error                   a malformed v1 command, or a response with no v1 form

The client classes live here, beside the wire contract, so that the blocking
client (``warden.client``) and the Twisted client (``warden.twisted_client``)
raise the very same classes without depending on each other; both re-export
them. A request that cannot be encoded (a required field unset, an integer
out of range) raises ``ProtocolError`` before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._messages import ErrorResponse

__all__ = [
    "ClientConnectionError",
    "ClientError",
    "ClientTimeoutError",
    "ProtocolError",
    "ServerError",
    "V1Error",
    "server_error",
]


class ProtocolError(Exception):
    """Bytes or a message that do not follow the warden wire contract.

    Raised for a malformed frame (bad length line, missing CRLF, oversize
    frame), an undecodable or unknown envelope, a message with required fields
    unset, or text that is not valid UTF-8. The message names what was wrong.
    """


class ClientError(Exception):
    """Base class of every error a warden client raises."""


class ServerError(ClientError):
    """The server answered a request with an ErrorResponse.

    The connection stays usable. ``message`` is the server's text (also
    ``str(error)``); ``data`` and ``backtrace`` are filled when the server sent them.
    """

    def __init__(
        self, message: str, data: str | None = None, backtrace: Iterable[str] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        self.backtrace = list(backtrace)


class ClientConnectionError(ClientError):
    """The connection failed: refused, closed by the server, or unusable.

    After this error the client is disconnected; ``reconnect()`` (blocking) or
    a new connection (Twisted) starts afresh.
    """


class ClientTimeoutError(ClientConnectionError):
    """No complete answer arrived in time.

    The answer may still come later and would be read as the answer to the
    next request, so the client disconnects, as for any connection error.
    """


class V1Error(ClientError, ValueError):
    """A v1 command that cannot be translated, or a response with no v1 value.

    The messages of the original client are kept: ``Unknown command: RUNX``,
    ``Unknown net direction: up``, ``Unknown copy direction: x``,
    ``Unknown limit: cpu``, ``Unknown response: LimitCpuResponse``.
    """


def server_error(response: ErrorResponse) -> ServerError:
    """The ServerError a client raises for an ErrorResponse."""
    return ServerError(
        response.message,
        response.data if response.HasField("data") else None,
        response.backtrace,
    )
