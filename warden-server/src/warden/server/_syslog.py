# -*- test-case-name: tests.test_main -*-
"""Job output to syslog: one datagram per line on a unix socket.

The original piped a job's output through ``logger -t warden.<tag>``; here the
server writes the records itself, in the format ``logger`` uses for a local
socket: ``<PRI>Mmm dd hh:mm:ss warden.<tag>: line``. Stdout lines are
``user.info`` (``<14>``), stderr lines ``user.err`` (``<11>``). The socket is
``server.syslog_socket``, else ``/dev/log``; when nobody listens the records
are dropped (with one warning), as syslog(3) does.
"""

from __future__ import annotations

import socket
import time

from twisted.logger import Logger

__all__ = ["PRIORITY_STDERR", "PRIORITY_STDOUT", "SyslogSender"]

PRIORITY_STDOUT = 14  # facility user (1) * 8 + info (6)
PRIORITY_STDERR = 11  # facility user (1) * 8 + err (3)

#: A record longer than this is cut (datagram sockets have a size limit).
_MAX_RECORD = 8192

_log = Logger(namespace="warden.server.syslog")


class SyslogSender:
    """Sends tagged lines to a syslog datagram socket."""

    def __init__(self, path: str | None) -> None:
        self.path = path or "/dev/log"
        self._socket: socket.socket | None = None
        self._warned = False

    def _connect(self) -> socket.socket | None:
        if self._socket is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.setblocking(False)
            try:
                sock.connect(self.path)
            except OSError as problem:
                sock.close()
                self._warn(problem)
                return None
            self._socket = sock
        return self._socket

    def _warn(self, problem: OSError) -> None:
        if not self._warned:
            self._warned = True
            _log.warn(
                "cannot send job output to syslog at {path}: {problem}",
                path=self.path,
                problem=problem,
            )

    def send(self, tag: str, priority: int, line: bytes) -> None:
        """Send one line as one record, tagged ``warden.<tag>``."""
        stamp = time.strftime("%b %d %H:%M:%S", time.localtime())
        record = b"<%d>%s warden.%s: %s" % (priority, stamp.encode(), tag.encode(), line)
        sock = self._connect()
        if sock is None:
            return
        try:
            sock.send(record[:_MAX_RECORD])
        except OSError as problem:
            # The receiver went away or is full: drop, reconnect next time.
            self._warn(problem)
            self.close()

    def close(self) -> None:
        """Drop the connection; the next ``send`` reconnects."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
