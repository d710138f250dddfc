# -*- test-case-name: tests_abuse.test_faults -*-
"""Processes a previous server left working on a container it never finished.

A server that dies in the middle of a request (SIGKILL, a crash) leaves the
scripts it started running: ``start.sh`` goes on making cgroups, a veth and
firewall chains for a container that, having no snapshot, the next server
destroys at start. Should such a script still be running then, it would
recreate what the destroy just removed, and nothing would ever remove it
again. So before recovery destroys a container, every process still working
on it is killed: one whose working directory, arguments or environment name
the container's directory (the scripts ``cd`` there or are given its path).
So is, first of all, every process working on a depot entry that does not
exist (yet): a ``create.sh`` that would otherwise make a container no server
knows of.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from typing import Any

from twisted.internet import task
from twisted.logger import Logger

__all__ = [
    "kill_processes",
    "kill_processes_using",
    "processes_of_missing_entries",
    "processes_using",
]

_log = Logger(namespace="warden.server.recovery")

#: Rounds of kill-and-look-again, and the pause between them (seconds).
_ROUNDS = 200
_PAUSE = 0.025


def _paths_in(text: bytes, below: bytes) -> list[bytes]:
    """Entries of NUL-separated ``text`` (``NAME=value`` ones by their value)
    that are the directory ``below`` (which ends with a slash) or under it."""
    found = []
    for item in text.split(b"\0"):
        value = item.split(b"=", 1)[1] if b"=" in item and not item.startswith(b"/") else item
        if (value + b"/").startswith(below):
            found.append(value)
    return found


def _references(directory: str) -> dict[int, list[bytes]]:
    """Live processes (but this one) that work under ``directory``, with the
    paths under it that they name: their working directory, arguments and
    environment. Zombies and kernel threads are left out."""
    below = os.fsencode(os.path.abspath(directory)) + b"/"
    own = os.getpid()
    found: dict[int, list[bytes]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == own:
            continue
        base = f"/proc/{entry}"
        try:
            with open(f"{base}/cmdline", "rb") as handle:
                cmdline = handle.read()
            if not cmdline:
                continue
            paths = _paths_in(cmdline, below)
            with contextlib.suppress(OSError):
                paths += _paths_in(os.fsencode(os.readlink(f"{base}/cwd")), below)
            with open(f"{base}/environ", "rb") as handle:
                paths += _paths_in(handle.read(), below)
        except OSError:
            continue
        if paths:
            found[int(entry)] = paths
    return found


def processes_using(path: str) -> list[int]:
    """Processes working on the directory ``path`` or anything in it."""
    return list(_references(path))


def processes_of_missing_entries(depot: str) -> list[int]:
    """Processes working on an entry of ``depot`` that does not exist (a
    container a dead server's ``create.sh`` has not made yet)."""
    below = os.fsencode(os.path.abspath(depot)) + b"/"
    found = []
    for pid, paths in _references(depot).items():
        entries = {path[len(below) :].split(b"/", 1)[0] for path in paths}
        if any(entry and not os.path.lexists(below + entry) for entry in entries):
            found.append(pid)
    return found


async def kill_processes(find: Callable[[], list[int]], reactor: Any, what: str) -> list[int]:
    """SIGKILL the processes ``find`` returns until it returns none (a killed
    script may have started another meanwhile); returns those killed."""
    killed: list[int] = []
    for _ in range(_ROUNDS):
        pids = find()
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if pid not in killed:
                killed.append(pid)
        await task.deferLater(reactor, _PAUSE, lambda: None)
    if killed:
        _log.warn(
            "killed {count} leftover process(es) working on {what}: {pids}",
            count=len(killed),
            what=what,
            pids=killed,
        )
    return killed


async def kill_processes_using(path: str, reactor: Any) -> list[int]:
    """Kill every process working on the container directory ``path``."""
    return await kill_processes(lambda: processes_using(path), reactor, path)
