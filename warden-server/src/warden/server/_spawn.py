# -*- test-case-name: tests.test_spawn -*-
"""Starting a process and following it on the reactor, at the least cost.

``spawn`` hands the process to the server's ``warden-spawner`` (see
``_spawner``): the reactor never waits for a child's exec (a vfork in the
server would, and on a loaded machine the child waits for a CPU first). The
child starts with what a clean child needs: every signal at its default, an
empty signal mask, stdin, stdout and stderr as given, and no other descriptor.

``PipeReader`` and ``PipeWriter`` move a child's output and input through the
reactor; the spawner reaps the child and reports its status (128+N when
signal N ended it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure

from ._config import default_root_scripts_path
from ._spawner import Spawner

__all__ = [
    "CROWD",
    "PRIORITY_BOOST",
    "REACTOR_RT_PRIORITY",
    "PipeReader",
    "PipeWriter",
    "helper_path",
    "make_reactor_realtime",
    "script_ended",
    "script_started",
    "stop_reactor_realtime",
    "raise_priority",
    "spawn",
    "start_spawner",
    "stop_spawner",
]

_CHUNK = 65536
#: The helper's name, under ``<root scripts>/linux/bin``.
SPAWNER = "warden-spawner"

_inherited_closed = False
_helper: str | None = None
_spawner: Spawner | None = None
#: The niceness the server was started with: its children's, whatever its own becomes.
_children_nice = os.getpriority(os.PRIO_PROCESS, 0)
#: How much higher than its children the server runs (when it may: as root).
PRIORITY_BOOST = 10


def _close_inherited_on_exec() -> None:
    """Once: descriptors above 2 that an exec would pass on become close-on-exec.

    Python opens its own close-on-exec (as do the C calls the server makes:
    inotify, pidfd, eventfd, epoll); only inherited ones can lack the flag.
    Scanning at every start would cost a system call per open descriptor.
    """
    global _inherited_closed
    if _inherited_closed:
        return
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            try:
                if not fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC:
                    os.set_inheritable(fd, False)
            except OSError:  # the listing's own descriptor, closed by now
                pass
    _inherited_closed = True


def helper_path(root_scripts: str | None = None) -> str:
    """Where ``warden-spawner`` is: under ``root_scripts`` (default: the package's)."""
    return str(Path(root_scripts or default_root_scripts_path()) / "linux" / "bin" / SPAWNER)


def _forget(spawner: Spawner) -> None:
    global _spawner
    if _spawner is spawner:
        _spawner = None  # the next start starts a new one


def start_spawner(reactor: Any, helper: str | None = None, *, nice: int | None = None) -> Spawner:
    """Start the spawner (``helper``: its path; default: the package's root scripts).

    The server calls it at start, so that a missing helper stops it there;
    later starts use this one, or (if it died) a new one from the same path.
    Its children run at ``nice`` (default: the niceness the server started
    with). Raises OSError when the helper cannot start.
    """
    global _spawner, _helper, _children_nice
    stop_spawner()
    _helper = helper or _helper or helper_path()
    if nice is not None:
        _children_nice = nice
    _close_inherited_on_exec()
    _spawner = Spawner(reactor, _helper, _forget, nice=_children_nice)
    return _spawner


def raise_priority() -> bool:
    """Run the calling thread (the reactor's) ``PRIORITY_BOOST`` above the children.

    A hundred scripts at once make a hundred runnable processes; the reactor
    then waits for a CPU behind them, and so does every client, a ping too.
    The scripts and jobs keep the niceness the server started with (the
    spawner's). False when not allowed (not root): nothing changes then.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, 0, max(-20, _children_nice - PRIORITY_BOOST))
    except PermissionError:
        return False
    return True


#: The reactor's real-time priority with ``server.reactor_realtime``: the lowest.
REACTOR_RT_PRIORITY = 1


def _thread_at(nice: int) -> type[threading.Thread]:
    """A Thread class whose threads first take niceness ``nice``."""

    class NicedThread(threading.Thread):
        def run(self) -> None:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, 0, nice)  # this thread only (Linux)
            super().run()

    return NicedThread


#: Scripts running at once from which a real-time reactor
#: (``make_reactor_realtime``) is under SCHED_RR: a burst, not one request.
CROWD = 2
#: The reactor's thread id once it may run real-time; None: it never does.
_realtime_tid: int | None = None
_scripts_running = 0


def _policy(realtime: bool) -> None:
    assert _realtime_tid is not None
    policy, priority = (os.SCHED_RR, REACTOR_RT_PRIORITY) if realtime else (os.SCHED_OTHER, 0)
    with contextlib.suppress(OSError):  # allowed at the start: only a priority
        os.sched_setscheduler(
            _realtime_tid, policy | os.SCHED_RESET_ON_FORK, os.sched_param(priority)
        )


def make_reactor_realtime(reactor: Any = None) -> str | None:
    """Let the calling thread (the reactor's) run under ``SCHED_RR`` at
    priority 1 while at least ``CROWD`` scripts (``run_script``) run, with
    ``SCHED_RESET_ON_FORK`` always; None when allowed, else why not.
    ``reactor``'s thread pool (when given) then makes its threads at the
    niceness the reactor had (``raise_priority``'s): the reset would give
    them 0, the scripts' own.

    Niceness weighs the reactor against the tasks of its own scheduling
    group only (and a hundred runnable scripts outweigh it even there); a
    real-time thread runs as soon as it is runnable, ahead of every normal
    one, so a burst of creates no longer keeps a ping's answer waiting for
    a CPU. Only during a burst: with fewer scripts it is a normal thread
    again, since a real-time reactor preempts whatever it wakes beside (a
    job writing a stream's output, its keeper) and reads in smaller bites.
    Only this thread: the thread pool's threads, the spawner and everything
    started later are made with the normal policy (reset on fork; a thread
    is a fork here too), so no script or job ever inherits it. A reactor
    that spun would take at most one CPU, and only up to the kernel's
    real-time limit (``kernel.sched_rt_runtime_us``, 95% by default; the
    fair server's reserve on 6.12 and later), so the host's shells can still
    stop it.
    """
    global _realtime_tid
    nice = os.getpriority(os.PRIO_PROCESS, 0)  # the calling thread's (Linux)
    try:  # allowed? (then back to normal until a burst)
        os.sched_setscheduler(
            0, os.SCHED_RR | os.SCHED_RESET_ON_FORK, os.sched_param(REACTOR_RT_PRIORITY)
        )
    except OSError as error:  # not root, or no real-time time in its cgroup
        return error.strerror or str(error)
    _realtime_tid = threading.get_native_id()
    _policy(_scripts_running >= CROWD)
    get_pool = getattr(reactor, "getThreadPool", None)
    if get_pool is not None:
        get_pool().threadFactory = _thread_at(nice)
    return None


def stop_reactor_realtime() -> None:
    """The reactor a normal thread again, for good (tests; a server's stop)."""
    global _realtime_tid
    if _realtime_tid is not None:
        _policy(False)
        _realtime_tid = None


def script_started() -> None:
    """A script (``run_script``) was started: one more running."""
    global _scripts_running
    _scripts_running += 1
    if _scripts_running == CROWD and _realtime_tid is not None:
        _policy(True)


def script_ended() -> None:
    """A script started ended (or never started): one fewer running."""
    global _scripts_running
    _scripts_running -= 1
    if _scripts_running == CROWD - 1 and _realtime_tid is not None:
        _policy(False)


def stop_spawner() -> None:
    """End the spawner, if one runs (it exits at its socket's EOF)."""
    global _spawner
    spawner, _spawner = _spawner, None
    if spawner is not None:
        spawner.close()


def spawn(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    stdin: int | None,
    stdout: int,
    stderr: int,
    on_exit: Callable[[int], None],
    setsid: bool = False,
    batch: bool = False,
    reactor: Any,
) -> defer.Deferred[int]:
    """Start ``argv`` (its first word a path, or a name looked up in PATH).

    ``stdin`` is a descriptor for the child's stdin (None: /dev/null);
    ``stdout`` and ``stderr`` are descriptors for its output; they may be
    closed on return. With ``setsid`` the child leads a session of its own;
    with ``batch`` it runs under SCHED_BATCH, as does what it starts (the
    scripts: see ``raise_priority``).
    The Deferred fires with the pid once the child has exec'd, or fails with
    OSError when it cannot start; ``on_exit(status)`` follows when it ends.
    """
    spawner = _spawner
    if spawner is None or not spawner.alive:
        try:
            spawner = start_spawner(reactor)
        except OSError as problem:
            return defer.fail(OSError(problem.errno, f"cannot start {_helper}: {problem}"))
    return spawner.spawn(
        argv, env, stdin=stdin, stdout=stdout, stderr=stderr, setsid=setsid, on_exit=on_exit,
        batch=batch,
    )  # fmt: skip


class PipeReader:
    """(An IReadDescriptor.) Reads a pipe until EOF: ``on_data(bytes)``, then ``on_eof()``."""

    def __init__(self, reactor: Any, fd: int, on_data: Callable[[bytes], None],
                 on_eof: Callable[[], None]) -> None:  # fmt: skip
        self._reactor = reactor
        self._fd = fd
        self._on_data = on_data
        self._on_eof: Callable[[], None] | None = on_eof
        os.set_blocking(fd, False)
        reactor.addReader(self)

    def drain(self) -> None:
        """Read what the pipe holds now."""
        while self._fd >= 0:
            try:
                chunk = os.read(self._fd, _CHUNK)
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self._close()
                return
            self._on_data(chunk)

    def _close(self) -> None:
        if self._fd >= 0:
            self._reactor.removeReader(self)
            os.close(self._fd)
            self._fd = -1
        on_eof, self._on_eof = self._on_eof, None
        if on_eof is not None:
            on_eof()

    # IReadDescriptor

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "PipeReader"

    def doRead(self) -> None:
        self.drain()

    def connectionLost(self, reason: Failure) -> None:
        self._close()


class PipeWriter:
    """(An IWriteDescriptor.) Writes ``data`` into a pipe, then closes it."""

    def __init__(self, reactor: Any, fd: int, data: bytes) -> None:
        self._reactor = reactor
        self._fd = fd
        self._data = memoryview(data)
        os.set_blocking(fd, False)
        self.doWrite()
        if self._fd >= 0:
            reactor.addWriter(self)

    def _close(self) -> None:
        if self._fd >= 0:
            self._reactor.removeWriter(self)
            os.close(self._fd)
            self._fd = -1

    # IWriteDescriptor

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "PipeWriter"

    def doWrite(self) -> None:
        while self._fd >= 0 and self._data:
            try:
                written = os.write(self._fd, self._data[:_CHUNK])
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            except OSError:  # the child closed its end: it wants no more
                break
            self._data = self._data[written:]
        self._close()

    def connectionLost(self, reason: Failure) -> None:
        self._close()
