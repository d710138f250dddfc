"""Every error the warden wire layer and the warden clients raise.

::

    ProtocolError                 bytes or a message that break the wire contract
    ClientError                   anything a client reports
    ├── ServerError               the server answered with an ErrorResponse
    │   └── ExtensionNotSupported the server does not know an extension request
    ├── ClientConnectionError     refused, closed, EOF mid-frame, bad bytes from the server
    │   └── ClientTimeoutError    no answer within the timeout
    └── V1Error                   a malformed v1 command, or a response with no v1 form

The client classes live here, beside the wire contract, so that the blocking
client (``warden.client``) and the Twisted client (``warden.twisted_client``)
raise the very same classes without depending on each other; both re-export
them. An extension request (type 100 and up, not in the original warden)
answered with the error of a server that does not know its type raises
``ExtensionNotSupported``; an original Ruby server does not answer such a
request at all, so a caller talking to one should pass a timeout. A request
that cannot be encoded (a required field unset, an integer out of range)
raises ``ProtocolError`` before anything is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ._messages import ErrorResponse

__all__ = [
    "ClientConnectionError",
    "ClientError",
    "ClientTimeoutError",
    "ExtensionNotSupported",
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


class ExtensionNotSupported(ServerError):  # noqa: N818 (the name Garden users know)
    """The server does not know an extension request (a warden without it).

    ``str(error)`` is ``the server does not support <method>`` (``method``:
    ``set_property``, ``bulk_info`` ...); ``server_message`` is what the
    server said. Our server answers an unknown type with
    ``Unknown request type: N`` and then closes the connection, so the
    blocking client is disconnected afterwards (``reconnect()``).
    """

    def __init__(self, method: str, server_message: str) -> None:
        super().__init__(f"the server does not support {method}")
        self.method = method
        self.server_message = server_message


#: What a server that does not know a request type answers: ours, for a type
#: number it cannot decode ("Unknown request type: 105") or a request it has
#: no handler for ("Unknown request: CapacityRequest").
_UNKNOWN_TYPE = re.compile(r"unknown request(?: type)?\b", re.IGNORECASE)


def server_error(response: ErrorResponse, request: Any = None) -> ServerError:
    """The ServerError a client raises for an ErrorResponse.

    ``request``: the request (or its request or response class) that the
    response answers; for an extension request answered with an unknown type
    error the result is an ``ExtensionNotSupported``.
    """
    if request is not None and _UNKNOWN_TYPE.match(response.message):
        from ._types import is_extension, type_underscored  # _types imports this module

        if is_extension(request):
            return ExtensionNotSupported(type_underscored(request), response.message)
    return ServerError(
        response.message,
        response.data if response.HasField("data") else None,
        response.backtrace,
    )
