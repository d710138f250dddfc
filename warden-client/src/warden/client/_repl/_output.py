"""Where the shell writes: the process's stdout and stderr, as bytes.

Job output is bytes and goes out untouched; text is encoded as UTF-8. Every
write is flushed so that a job's output appears as it arrives and stays in
order with the shell's own lines.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import BinaryIO

__all__ = ["Output"]


def _stdout() -> BinaryIO:
    return sys.stdout.buffer


def _stderr() -> BinaryIO:
    return sys.stderr.buffer


@dataclass
class Output:
    """Two binary streams, written and flushed one piece at a time."""

    out: BinaryIO = field(default_factory=_stdout)
    err: BinaryIO = field(default_factory=_stderr)

    def write(self, data: bytes | str) -> None:
        """Write to standard output."""
        self._put(self.out, data)

    def error(self, data: bytes | str) -> None:
        """Write to standard error."""
        self._put(self.err, data)

    @staticmethod
    def _put(stream: BinaryIO, data: bytes | str) -> None:
        if not data:
            return
        if isinstance(data, str):
            data = data.encode("utf-8", errors="surrogateescape")
        stream.write(data)
        stream.flush()
