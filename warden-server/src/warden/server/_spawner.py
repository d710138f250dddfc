# -*- test-case-name: tests.test_spawn -*-
"""The server's side of ``warden-spawner``, the helper that starts its processes.

A ``posix_spawn`` (vfork) in the server holds the reactor until the child
has exec'd; on a loaded machine (a hundred creates at once: a hundred
runnable scripts) the child waits its turn on a CPU first, and the reactor
with it. So the server starts one ``warden-spawner`` (a small static C
program, ``root-scripts/linux/src/warden-spawner``) and sends it each
process to start over a ``SOCK_SEQPACKET`` socket pair: argv, environment and
flags in one message, stdin, stdout and stderr as ``SCM_RIGHTS``. It forks,
the child execs, and its replies (started with a pid, failed with an errno,
ended with a wait status) come back on the same socket, read on the reactor
a batch at a time.

If the spawner dies, the server says so (an error in the log), fails what it
had not started yet, follows the children it had started through pidfds (their
status is lost: 255) and starts a new spawner for the next request.
"""

from __future__ import annotations

import array
import contextlib
import errno
import functools
import os
import socket
import struct
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._watch import ProcessExitWatcher

__all__ = ["LOST_STATUS", "Spawner", "SpawnerGoneError"]

_log = Logger(namespace="warden.server.spawner")

#: Request flags (see spawner.c).
FLAG_SETSID = 1
FLAG_DEVNULL_STDIN = 2
FLAG_BATCH = 4
#: Reply kinds.
_STARTED, _FAILED, _EXITED = 1, 2, 3
_REQUEST = struct.Struct("=IIII")
_REPLY = struct.Struct("=iiii")
#: The status reported for a child whose spawner died before it ended.
LOST_STATUS = 255
#: The spawner's socket is its fd 3.
_SERVER_FD = 3
_SOCKET_BUFFER = 1 << 20
#: The spawner's request buffer (MAX_REQUEST in spawner.c).
_MAX_REQUEST = 1 << 20


class SpawnerGoneError(OSError):
    """The spawner died before it answered."""


def exit_code(status: int) -> int:
    """A raw wait status as the server reports it: the exit code, or 128+N for signal N."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


class Spawner:
    """(An IReadDescriptor, IWriteDescriptor.) One running ``warden-spawner``.

    ``spawn`` sends it a process to start; ``close`` ends it (its EOF).
    """

    def __init__(self, reactor: Any, helper: str, on_lost: Callable[[Spawner], None],
                 nice: int | None = None) -> None:  # fmt: skip
        """``nice``: the niceness it and its children run at (default: the server's)."""
        self._reactor = reactor
        self._on_lost: Callable[[Spawner], None] | None = on_lost
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        for end in (ours, theirs):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SOCKET_BUFFER)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SOCKET_BUFFER)
        try:
            # In the server's process group, as the scripts were when the
            # server started them: a group of its own would be orphaned at its
            # death, and the kernel hangs up (SIGHUP) its stopped members.
            self.pid = os.posix_spawn(
                helper,
                [helper] if nice is None else [helper, "--nice", str(nice)],
                dict(os.environ),
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, theirs.fileno(), _SERVER_FD),
                ],
                setsigmask=(),
            )
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        # One request is one datagram: larger ones than this cannot be sent
        # (the kernel's bound on a unix datagram; the spawner's buffer).
        self._max_request = min(
            _MAX_REQUEST, ours.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) - 32
        )
        self._socket: socket.socket | None = ours
        self._next_id = 0
        self._starting: dict[int, tuple[defer.Deferred[int], Callable[[int], None]]] = {}
        self._running: dict[int, Callable[[int], None]] = {}
        self._queue: deque[tuple[bytes, list[int]]] = deque()
        self._buffer = bytearray(_REPLY.size)
        reactor.addReader(self)
        self._exit = ProcessExitWatcher(reactor, self.pid, self._reap_self)

    @property
    def alive(self) -> bool:
        """False once the spawner is gone (or closed)."""
        return self._socket is not None

    def spawn(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        stdin: int | None,
        stdout: int,
        stderr: int,
        setsid: bool,
        on_exit: Callable[[int], None],
        batch: bool = False,
    ) -> defer.Deferred[int]:
        """Start ``argv``; the Deferred fires with its pid once it has exec'd.

        It fails with OSError when the process cannot start. ``on_exit`` is
        called with its status (128+N for signal N) once it has ended. The
        descriptors stay the caller's: they may be closed on return. With
        ``batch`` it runs under SCHED_BATCH (and so does what it starts).
        """
        if self._socket is None:
            return defer.fail(SpawnerGoneError("the spawner is gone"))
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        request_id = self._next_id
        flags = (
            (FLAG_SETSID if setsid else 0)
            | (FLAG_DEVNULL_STDIN if stdin is None else 0)
            | (FLAG_BATCH if batch else 0)
        )
        strings = [*argv, *(f"{key}={value}" for key, value in env.items())]
        payload = b"".join(
            (
                _REQUEST.pack(request_id, flags, len(argv), len(strings) - len(argv)),
                "\0".join(strings).encode("utf-8", "surrogateescape"),
                b"\0",
            )
        )
        if len(payload) > self._max_request:
            # As execve says it: the arguments and environment are too large.
            return defer.fail(OSError(errno.E2BIG, os.strerror(errno.E2BIG)))
        fds = [stdout, stderr] if stdin is None else [stdin, stdout, stderr]
        started: defer.Deferred[int] = defer.Deferred()
        self._starting[request_id] = (started, on_exit)
        if self._queue or not self._send(payload, fds):
            # Kept until sent: the caller closes its descriptors on return.
            self._queue.append((payload, [os.dup(fd) for fd in fds]))
            self._reactor.addWriter(self)
        return started

    def _send(self, payload: bytes, fds: list[int]) -> bool:
        """Send one request; False when the socket is full (try again later)."""
        assert self._socket is not None
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
        try:
            self._socket.sendmsg([payload], rights)
        except BlockingIOError:
            return False
        except OSError as problem:  # the spawner is gone: its EOF says so
            _log.error("cannot reach the spawner: {problem}", problem=problem)
            self._lost()
        return True

    def close(self) -> None:
        """End the spawner (it exits at the socket's EOF); forget its children."""
        self._on_lost = None
        self._close_socket()

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._reactor.removeReader(self)
            self._reactor.removeWriter(self)
            self._socket.close()
            self._socket = None
        while self._queue:
            for fd in self._queue.popleft()[1]:
                os.close(fd)

    def _reap_self(self) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, os.WNOHANG)
        if self._socket is not None:
            self._lost()

    def _lost(self) -> None:
        """The spawner died: say so, fail what it had not started, follow the rest."""
        self._close_socket()
        on_lost, self._on_lost = self._on_lost, None
        if on_lost is None:
            return
        _log.error(
            "the spawner (pid {pid}) died: {starting} starts failed, "
            "{running} processes followed by pidfd (status lost)",
            pid=self.pid,
            starting=len(self._starting),
            running=len(self._running),
        )
        starting, self._starting = self._starting, {}
        for started, _ in starting.values():
            started.errback(SpawnerGoneError("the spawner died"))
        running, self._running = self._running, {}
        for pid, on_exit in running.items():
            ProcessExitWatcher(self._reactor, pid, functools.partial(on_exit, LOST_STATUS))
        on_lost(self)

    def _replied(self, kind: int, request_id: int, pid: int, value: int) -> None:
        if kind == _EXITED:
            on_exit = self._running.pop(pid, None)
            if on_exit is not None:
                on_exit(exit_code(value))
            return
        entry = self._starting.pop(request_id, None)
        if entry is None:
            return
        started, on_exit = entry
        if kind == _STARTED:
            self._running[pid] = on_exit
            started.callback(pid)
        else:
            started.errback(OSError(value, os.strerror(value)))

    # IReadDescriptor, IWriteDescriptor

    def fileno(self) -> int:
        return -1 if self._socket is None else self._socket.fileno()

    def logPrefix(self) -> str:
        return "Spawner"

    def doRead(self) -> None:
        # Replies are 16 bytes each, one per datagram: read them all now.
        while self._socket is not None:
            try:
                size = self._socket.recv_into(self._buffer)
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            except OSError:
                size = 0
            if size != _REPLY.size:
                self._lost()
                return
            self._replied(*_REPLY.unpack_from(self._buffer))

    def doWrite(self) -> None:
        while self._queue and self._socket is not None:
            payload, fds = self._queue[0]
            if not self._send(payload, fds) or self._socket is None:
                return  # not yet; or the spawner is gone (and the queue closed)
            self._queue.popleft()
            for fd in fds:
                os.close(fd)
        if self._socket is not None:
            self._reactor.removeWriter(self)

    def connectionLost(self, reason: Failure) -> None:
        # The reactor is shutting down: end the spawner with the server.
        self.close()
