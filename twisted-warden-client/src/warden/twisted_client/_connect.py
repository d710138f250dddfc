# -*- test-case-name: tests.test_connection -*-
"""Connecting: a unix path, an endpoint description, or any client endpoint."""

from __future__ import annotations

from typing import Any, cast

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import UNIXClientEndpoint, clientFromString
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory
from twisted.python.failure import Failure

from warden.protocol import DEFAULT_MAX_FRAME_SIZE, DEFAULT_SOCKET_PATH
from warden.protocol.errors import ClientConnectionError

from ._connection import WardenConnection
from ._types import Endpoint

__all__ = ["ConnectionFactory", "connect", "endpoint_for"]


def endpoint_for(reactor: Any, where: str | Any = DEFAULT_SOCKET_PATH) -> Endpoint:
    """The client endpoint for ``where``.

    ``where`` is an IStreamClientEndpoint, an endpoint description such as
    ``"unix:/tmp/warden.sock"`` (``clientFromString``), or a plain unix socket
    path (anything without a ``:`` before its first ``/``).
    """
    if IStreamClientEndpoint.providedBy(where):
        return cast(Endpoint, where)
    if not isinstance(where, str):
        raise TypeError(
            f"expected a unix socket path, an endpoint description or an endpoint, got {where!r}"
        )
    if ":" in where.split("/", 1)[0]:
        return cast(Endpoint, clientFromString(reactor, where))  # type: ignore[no-untyped-call]
    return cast(Endpoint, UNIXClientEndpoint(reactor, where))  # type: ignore[no-untyped-call]


class ConnectionFactory(Factory):
    """Builds WardenConnections."""

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self.max_frame_size = max_frame_size

    def buildProtocol(self, addr: Any) -> WardenConnection:
        connection = WardenConnection(self.max_frame_size)
        connection.factory = self
        return connection


def connect(
    reactor: Any,
    where: str | Any = DEFAULT_SOCKET_PATH,
    *,
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
) -> Deferred[WardenConnection]:
    """Connect to a warden server; the Deferred fires with the connection.

    ``where`` is as for ``endpoint_for``. Failing to connect fails the Deferred
    with ClientConnectionError.
    """
    endpoint = endpoint_for(reactor, where)  # TypeError for a bad ``where``, at once

    def failed(failure: Failure) -> Failure:
        if isinstance(failure.value, ClientConnectionError):
            return failure
        message = f"cannot connect to {where}: {failure.getErrorMessage()}"
        raise ClientConnectionError(message) from failure.value

    deferred: Deferred[WardenConnection] = endpoint.connect(ConnectionFactory(max_frame_size))
    return deferred.addErrback(failed)
