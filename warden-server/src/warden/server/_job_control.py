# -*- test-case-name: tests.test_interactive -*-
"""Talking to an interactive job's keeper: stdin data, EOF and window sizes.

A job spawned with ``stdin`` or ``tty`` has a keeper that listens on
``JOB_DIR/control``, a unix socket (0600, root's or the server user's). Each
request is one connection carrying records, each a kind byte and a 4-byte
big-endian length, then the payload:

    d LEN DATA       write DATA to the job's stdin (or its terminal)
    e 0              close the job's stdin (on a terminal: its EOF character)
    r 4 ROWS COLS    set the terminal's window size (two 16-bit numbers)
    z 0              the end: the keeper answers one byte once the records
                     are applied (the data written), and closes

The answer is ``0`` (done), ``c`` (the input is closed: EOF was sent or the
job closed it), ``n`` (the job has no terminal) or ``?`` (a bad record). A
keeper that is gone (the job ended) refuses the connection or closes it
unanswered. The socket lives as long as the keeper, which outlives the
server, so a restarted server reaches it the same way. Connections go through
``/proc/self/fd/N/control`` (N the job directory): a deep directory's path
may not fit a socket address.
"""

from __future__ import annotations

import os
import struct
from typing import Any

from twisted.internet import defer
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.python.failure import Failure

from ._errors import WardenError

__all__ = ["CONTROL", "ControlClosedError", "data_records", "resize_record", "send_records"]

#: The socket's name in the job's directory.
CONTROL = "control"

_END = b"z" + struct.pack(">I", 0)


class ControlClosedError(WardenError):
    """The keeper is gone (the job has ended) or refused the records."""


def data_records(data: bytes, eof: bool) -> bytes:
    """Records that write ``data`` (if any), then close the input when ``eof``."""
    records = b"d" + struct.pack(">I", len(data)) + data if data else b""
    if eof:
        records += b"e" + struct.pack(">I", 0)
    return records


def resize_record(rows: int, columns: int) -> bytes:
    """The record that sets the window size."""
    return b"r" + struct.pack(">IHH", 4, rows, columns)


class _Control(Protocol):
    def __init__(self, records: bytes, answered: defer.Deferred[bytes]) -> None:
        self._records = records
        self._answered = answered
        self._answer = b""

    def connectionMade(self) -> None:
        transport: Any = self.transport  # zope's ITransport reads badly to mypy
        transport.write(self._records + _END)

    def dataReceived(self, data: bytes) -> None:
        self._answer += data

    def connectionLost(self, reason: Failure | None = None) -> None:
        if not self._answered.called:
            self._answered.callback(self._answer[:1])


class _ControlFactory(ClientFactory):
    def __init__(self, records: bytes) -> None:
        self.answered: defer.Deferred[bytes] = defer.Deferred()
        self._records = records

    def buildProtocol(self, addr: Any) -> _Control:
        return _Control(self._records, self.answered)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        if not self.answered.called:
            self.answered.callback(b"")


_ANSWERS = {
    b"c": "stdin is closed",
    b"n": "has no terminal",
    b"?": "refused the request",
}


async def send_records(reactor: Any, job_path: str, records: bytes) -> None:
    """Deliver ``records`` to the keeper of the job at ``job_path``; once applied.

    Raises ControlClosedError when the keeper is gone (the job ended meanwhile)
    and WardenError when it refused them (``stdin is closed`` ...).
    """
    try:
        fd = os.open(job_path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ControlClosedError("has finished") from None
    try:
        factory = _ControlFactory(records)
        reactor.connectUNIX(f"/proc/self/fd/{fd}/{CONTROL}", factory)
        answer = await factory.answered
    finally:
        os.close(fd)
    if answer == b"0":
        return
    if answer == b"":
        raise ControlClosedError("has finished")
    raise WardenError(_ANSWERS.get(answer, "refused the request"))
