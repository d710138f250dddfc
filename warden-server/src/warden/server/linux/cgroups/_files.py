"""Reading and writing cgroup control files.

Control files are tiny and live in a pseudo file system, so the server reads
and writes them directly (no process is spawned). Errors are ``OSError`` (the
file is missing, the kernel refused the value) or ``ValueError`` (the file
does not hold what it should); callers turn them into request errors.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["UNLIMITED", "read_int", "read_keyed", "read_limit", "read_text", "write_value"]

#: What cgroup v1 reports for "no limit" (PAGE_COUNTER_MAX pages), and what v2's
#: ``max`` is reported as, so that clients see one value on both.
UNLIMITED = 9223372036854771712


def read_text(path: Path) -> str:
    """The whole content of a control file."""
    # os.read, not open(): Info reads three of these for every Run, and a text
    # file object costs more than the read itself.
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("ascii")


def read_int(path: Path) -> int:
    """A control file holding one integer (``cpu.shares``, ``cpuacct.usage``)."""
    text = read_text(path).strip()
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{path}: expected an integer, found {text[:40]!r}") from None


def read_limit(path: Path) -> int | None:
    """A limit file that holds an integer or ``max`` (None)."""
    text = read_text(path).strip()
    if text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{path}: expected an integer or 'max', found {text[:40]!r}") from None


def read_keyed(path: Path) -> dict[str, int]:
    """A file of ``key value`` lines (``memory.stat``, ``cpu.stat``); other lines are skipped."""
    values: dict[str, int] = {}
    for line in read_text(path).splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        try:
            values[parts[0]] = int(parts[1])
        except ValueError:
            continue
    return values


def write_value(path: Path, value: int | str) -> None:
    """Write one value the way the kernel expects: one write, no creation.

    ``O_TRUNC`` is harmless on cgroup files and keeps plain files (the fake
    trees of the v2 tests) holding exactly the value written.
    """
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    try:
        os.write(fd, str(value).encode("ascii"))
    finally:
        os.close(fd)
