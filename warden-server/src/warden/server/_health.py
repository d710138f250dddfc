# -*- test-case-name: tests.test_metrics -*-
"""The health check, and the Prometheus metrics on the same port.

Any data gets ``HTTP/1.1 200 OK\\r\\n`` (no headers, no body) and the
connection is closed, as the original did; it stays up during a drain. The one
exception is an HTTP request for ``GET /metrics``, answered with the server's
metrics in Prometheus's text format. Data that cannot be the start of that
request line is answered at once, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from twisted.internet import protocol

__all__ = ["HealthCheck", "HealthCheckFactory"]

_STATUS: Final = b"HTTP/1.1 200 OK\r\n"
_METRICS_REQUEST: Final = b"GET /metrics"
#: A request line longer than this is not a metrics request.
_MAX_LINE: Final = 8192


class HealthCheck(protocol.Protocol):
    """Answers the first data received (or a metrics request), then closes."""

    def __init__(self, metrics: Callable[[], bytes] | None, content_type: str) -> None:
        self.metrics = metrics
        self.content_type = content_type
        self._received = b""
        self._answered = False

    def dataReceived(self, data: bytes) -> None:
        transport: Any = self.transport
        if transport is None or self._answered:
            return
        self._received += data
        head = self._received[: len(_METRICS_REQUEST)]
        if self.metrics is None or not _METRICS_REQUEST.startswith(head):
            self._answer(transport, _STATUS)
            return
        if b"\n" not in self._received and len(self._received) < _MAX_LINE:
            return  # the request line is not complete yet
        line = self._received.split(b"\n", 1)[0].split()
        target = line[1].split(b"?", 1)[0] if len(line) > 1 else b""
        if target != b"/metrics":
            self._answer(transport, _STATUS)
            return
        body = self.metrics()
        self._answer(
            transport,
            b"HTTP/1.1 200 OK\r\nContent-Type: " + self.content_type.encode()
            + b"\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n" + body,
        )  # fmt: skip

    def _answer(self, transport: Any, data: bytes) -> None:
        self._answered = True
        transport.write(data)
        transport.loseConnection()


class HealthCheckFactory(protocol.Factory):
    """Makes a ``HealthCheck`` per connection; ``metrics`` renders ``/metrics``."""

    noisy = False

    def __init__(
        self,
        metrics: Callable[[], bytes] | None = None,
        content_type: str = "text/plain; charset=utf-8",
    ) -> None:
        self.metrics = metrics
        self.content_type = content_type

    def buildProtocol(self, addr: Any) -> HealthCheck:
        """A check that serves this factory's metrics."""
        check = HealthCheck(self.metrics, self.content_type)
        check.factory = self
        return check
