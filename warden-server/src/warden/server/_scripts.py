# -*- test-case-name: tests.test_scripts -*-
"""The one funnel through which the server starts processes.

``run_script`` runs a command to completion and captures its output (bounded),
like the original's ``sh`` helper (C20): a non-zero exit is
``command exited with failure``, too much output is
``command exceeded maximum output``. ``spawn_detached`` starts a job wrapper in
its own session, so that it outlives the server.

``run_script`` goes through Twisted's ``spawnProcess``, which resets ignored
signals (such as SIGPIPE, ignored by Python) to their defaults in the child and
closes every other descriptor of the server. ``spawn_detached`` is on every
Spawn and Run, so it costs less: ``os.posix_spawn`` (vfork and exec, about a
third of ``spawnProcess``'s cost) with ``setsid``, every signal back to its
default, stdin from /dev/null and stdout and stderr into one pipe. Every other
descriptor is closed: Python opens its own close-on-exec, and any the server
inherited without that flag is closed in the child explicitly.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer, error, protocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._errors import WardenError
from ._watch import ProcessExitWatcher

__all__ = [
    "DEFAULT_MAX_OUTPUT",
    "DetachedProcess",
    "ScriptError",
    "ScriptResult",
    "run_script",
    "spawn_detached",
]

#: Output bound of a script run (stdout and stderr together), as the original's.
DEFAULT_MAX_OUTPUT = 1024 * 1024

_log = Logger(namespace="warden.server.scripts")


@dataclass(frozen=True)
class ScriptResult:
    """How a script ended and what it printed."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        """True when the script exited with status 0."""
        return self.exit_code == 0


class ScriptError(WardenError):
    """A script failed; ``message`` is the original's text, the rest is for logs."""

    def __init__(self, message: str, result: ScriptResult) -> None:
        super().__init__(message)
        self.result = result

    def __str__(self) -> str:
        tail = self.result.stderr[-400:].decode("utf-8", "replace").strip()
        return f"{self.message}: {' '.join(self.result.argv)} (exit {self.result.exit_code}) {tail}"


def _environment(env: Mapping[str, object] | None) -> dict[str, str]:
    """The server's environment plus ``env``, every value as text."""
    merged = dict(os.environ)
    for key, value in (env or {}).items():
        merged[key] = str(value)
    return merged


def _reactor(reactor: Any) -> Any:
    """The given reactor (an IReactorProcess), else the global one."""
    if reactor is None:
        from twisted.internet import reactor as global_reactor

        reactor = global_reactor
    return reactor


class _Capture(protocol.ProcessProtocol):
    def __init__(self, argv: tuple[str, ...], stdin: bytes | None, max_output: int) -> None:
        self.argv = argv
        self.stdin = stdin
        self.max_output = max_output
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self.size = 0
        self.exceeded = False
        self.done: defer.Deferred[ScriptResult] = defer.Deferred()

    @property
    def _transport(self) -> Any:
        return self.transport

    def connectionMade(self) -> None:
        if self.stdin:
            self._transport.write(self.stdin)
        self._transport.closeStdin()

    def _collect(self, into: list[bytes], data: bytes) -> None:
        if self.exceeded:
            return
        self.size += len(data)
        if self.size > self.max_output:
            self.exceeded = True
            with contextlib.suppress(error.ProcessExitedAlready):
                self._transport.signalProcess("TERM")
            return
        into.append(data)

    def outReceived(self, data: bytes) -> None:
        self._collect(self.out, data)

    def errReceived(self, data: bytes) -> None:
        self._collect(self.err, data)

    def processEnded(self, reason: Failure) -> None:
        value = reason.value
        code = getattr(value, "exitCode", None)
        if code is None:
            sig = getattr(value, "signal", None) or 0
            code = 128 + sig
        result = ScriptResult(self.argv, code, b"".join(self.out), b"".join(self.err))
        self.done.callback(result)


def run_script(
    argv: Sequence[str],
    *,
    env: Mapping[str, object] | None = None,
    stdin: bytes | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
    check: bool = True,
    reactor: Any = None,
) -> defer.Deferred[ScriptResult]:
    """Run ``argv`` to completion with the server's environment plus ``env``.

    With ``check`` (the default) the Deferred fails with ``ScriptError`` when
    the command exits non-zero or prints more than ``max_output`` bytes.
    """
    args = tuple(str(a) for a in argv)
    capture = _Capture(args, stdin, max_output)
    try:
        _reactor(reactor).spawnProcess(capture, args[0], args, env=_environment(env))
    except OSError as problem:
        result = ScriptResult(args, 127, b"", str(problem).encode())
        return defer.fail(ScriptError("command exited with failure", result))

    def finished(result: ScriptResult) -> ScriptResult:
        if capture.exceeded:
            _log.warn("{argv} exceeded its output limit", argv=" ".join(args))
            raise ScriptError("command exceeded maximum output", result)
        if result.ok:
            _log.debug("{argv} exited 0", argv=" ".join(args), stderr=result.stderr[-2000:])
            return result
        _log.warn(
            "{argv} exited {code}: {stderr}",
            argv=" ".join(args),
            code=result.exit_code,
            stderr=result.stderr[-2000:].decode("utf-8", "replace").strip(),
            stdout=result.stdout[-2000:].decode("utf-8", "replace").strip(),
        )
        if check:
            raise ScriptError("command exited with failure", result)
        return result

    return capture.done.addCallback(finished)


#: Signals a job wrapper starts with at their defaults (Python ignores SIGPIPE
#: and SIGXFSZ, and ignored signals survive exec). KILL and STOP cannot change.
_DEFAULT_SIGNALS = frozenset(signal.valid_signals()) - {signal.SIGKILL, signal.SIGSTOP}
#: How much of a wrapper's own output (its start-up errors) is kept.
_STDERR_TAIL = 4096


class _OutputTail:
    """(An IReadDescriptor.) Reads a pipe until EOF, keeping the last bytes."""

    def __init__(self, reactor: Any, fd: int) -> None:
        self._reactor = reactor
        self._fd = fd
        self.data = b""
        os.set_blocking(fd, False)
        reactor.addReader(self)

    def drain(self) -> bytes:
        """Read what the pipe holds now; the bytes kept so far."""
        while self._fd >= 0:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self._close()
                break
            self.data = (self.data + chunk)[-_STDERR_TAIL:]
        return self.data

    def _close(self) -> None:
        if self._fd >= 0:
            self._reactor.removeReader(self)
            os.close(self._fd)
            self._fd = -1

    # IReadDescriptor

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "DetachedProcessOutput"

    def doRead(self) -> None:
        self.drain()

    def connectionLost(self, reason: Failure) -> None:
        self._close()


class DetachedProcess:
    """A job wrapper started in its own session.

    ``pid`` is the wrapper's pid. ``ended`` fires with its exit status (128+N
    for signal N) if it ends while this server runs; the server, its parent,
    reaps it then. ``stderr`` is what the wrapper printed before it
    redirected its output to the job's files (its start-up errors).
    """

    def __init__(self, argv: tuple[str, ...], pid: int, output: int, reactor: Any) -> None:
        self.argv = argv
        self.pid = pid
        self.ended: defer.Deferred[int] = defer.Deferred()
        self._reactor = reactor
        self._output = _OutputTail(reactor, output)
        self._watcher = ProcessExitWatcher(reactor, pid, self._exited)

    @property
    def stderr(self) -> bytes:
        """The wrapper's own output so far (the last 4 KiB)."""
        return self._output.drain()

    def _exited(self) -> None:
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == 0:  # not a zombie yet: the pidfd was quicker
                self._reactor.callLater(0.001, self._exited)
                return
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:  # reaped by someone else: its status is lost
            code = 128 + signal.SIGKILL
        if code < 0:
            code = 128 - code
        if code != 0:
            _log.warn(
                "job wrapper {argv} exited {code}: {stderr}",
                argv=" ".join(self.argv),
                code=code,
                stderr=self.stderr.decode("utf-8", "replace").strip(),
            )
        self.ended.callback(code)


def _inheritable_descriptors() -> list[int]:
    """Descriptors above 2 that an exec would pass on (not close-on-exec)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            try:
                if not fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC:
                    found.append(fd)
            except OSError:  # the listing's own descriptor, closed by now
                pass
    return found


def spawn_detached(
    argv: Sequence[str], *, env: Mapping[str, object] | None = None, reactor: Any = None
) -> DetachedProcess:
    """Start ``argv`` (its first word a path) in a new session (``setsid``).

    The wrapper survives the server (even SIGKILL) and signals sent to the
    server's process group. Raises WardenError when it cannot be started.
    """
    args = tuple(str(a) for a in argv)
    read_end, write_end = os.pipe()
    try:
        pid = os.posix_spawn(
            args[0],
            args,
            _environment(env),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, write_end, 1),
                (os.POSIX_SPAWN_DUP2, write_end, 2),
                *((os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_descriptors()),
            ],
            setsid=True,
            setsigmask=(),
            setsigdef=_DEFAULT_SIGNALS,
        )
    except OSError as problem:
        os.close(read_end)
        raise WardenError(f"cannot start job wrapper: {problem}") from problem
    finally:
        os.close(write_end)
    return DetachedProcess(args, pid, read_end, _reactor(reactor))
