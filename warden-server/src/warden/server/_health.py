# -*- test-case-name: tests.test_main -*-
"""The health check (C13): a TCP listener that answers any data with a status line.

It writes ``HTTP/1.1 200 OK\\r\\n`` (no headers, no body) and closes. It stays
up during a drain.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import protocol

__all__ = ["HealthCheck", "HealthCheckFactory"]


class HealthCheck(protocol.Protocol):
    """Answers the first data received, then closes."""

    def dataReceived(self, data: bytes) -> None:
        transport: Any = self.transport
        if transport is not None:
            transport.write(b"HTTP/1.1 200 OK\r\n")
            transport.loseConnection()


class HealthCheckFactory(protocol.Factory):
    """Makes a ``HealthCheck`` per connection."""

    protocol = HealthCheck
    noisy = False
