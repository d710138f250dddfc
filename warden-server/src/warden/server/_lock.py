# -*- test-case-name: tests.test_lock -*-
"""One server per socket: an exclusive lock beside the socket for the server's life.

``<unix_domain_path>.lock`` is locked with ``flock`` before the server touches
anything (socket, depot, firewall, cgroups) and holds the holder's pid. A
second server on the same configuration finds it locked and stops, naming the
first. The kernel drops the lock when the process ends however it ends; the
file itself stays (removing it would let two servers lock two different files).
The descriptor is close-on-exec so that scripts and jobs never inherit it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os

__all__ = ["ServerLockedError", "lock_path", "take_server_lock"]


class ServerLockedError(Exception):
    """Another live process holds the lock."""

    def __init__(self, path: str, holder: int | None) -> None:
        self.path = path
        self.holder = holder
        who = f"pid {holder}" if holder is not None else "another process"
        super().__init__(f"another warden-server ({who}) holds {path}")


def lock_path(socket_path: str) -> str:
    """The lock file of the server serving ``socket_path``."""
    return socket_path + ".lock"


def take_server_lock(socket_path: str) -> int:
    """Lock ``<socket_path>.lock`` and write our pid into it; return the descriptor to keep.

    Raises ``ServerLockedError`` when another process holds it and ``OSError``
    when the file cannot be opened (its folder missing, say).
    """
    path = lock_path(socket_path)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(fd)
        os.close(fd)
        raise ServerLockedError(path, holder) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip())
    return None
