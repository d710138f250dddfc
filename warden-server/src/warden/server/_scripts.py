# -*- test-case-name: tests.test_spawn -*-
"""The one funnel through which the server starts processes.

``run_script`` runs a command to completion and captures its output (bounded),
like the original's ``sh`` helper: a non-zero exit is
``command exited with failure``, too much output is
``command exceeded maximum output``. ``spawn_detached`` starts a job wrapper in
its own session, so that it outlives the server.

Both start processes through ``_spawn.spawn`` (the server's
``warden-spawner``: signals at their defaults, no descriptor of the server
but the pipes given; the reactor does not wait for the exec), follow their
output through pipes on the reactor and learn of their end from the
spawner, which reaps them.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from ._errors import WardenError
from ._spawn import PipeReader, PipeWriter, script_ended, script_started, spawn

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
    """The given reactor, else the global one."""
    if reactor is None:
        from twisted.internet import reactor as global_reactor

        reactor = global_reactor
    return reactor


class _ScriptRun:
    """One script: its output collected (bounded), its end awaited."""

    def __init__(self, argv: tuple[str, ...], env: dict[str, str], stdin: bytes | None,
                 max_output: int, reactor: Any, *,
                 on_stdout: Callable[[bytes], None] | None = None,
                 stdin_until: defer.Deferred[None] | None = None) -> None:  # fmt: skip
        self.argv = argv
        self.max_output = max_output
        self.on_stdout = on_stdout
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self.size = 0
        self.exceeded = False
        self.exit_code: int | None = None
        self.open_pipes = 2
        self.pid: int | None = None
        self.done: defer.Deferred[ScriptResult] = defer.Deferred()
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        in_read, in_write = os.pipe() if stdin or stdin_until is not None else (None, None)
        try:
            # Under SCHED_BATCH: a burst of scripts does not preempt the reactor.
            started = spawn(argv, env, stdin=in_read, stdout=out_write, stderr=err_write,
                            on_exit=self._exited, batch=True, reactor=reactor)  # fmt: skip
        finally:
            # The spawner holds its own copies until the child has them.
            for fd in (out_write, err_write, in_read):
                if fd is not None:
                    os.close(fd)
        PipeReader(reactor, out_read, self._stdout, self._eof)
        PipeReader(reactor, err_read, lambda data: self._collect(self.err, data), self._eof)
        self._held_stdin: int | None = None
        if stdin_until is not None and in_write is not None:
            # Nothing written: its EOF is the message (the fd is not inherited).
            self._held_stdin = in_write
            stdin_until.addBoth(self._release_stdin)
        elif in_write is not None:
            PipeWriter(reactor, in_write, stdin or b"")
        script_started()  # until _exited: a burst makes the reactor real-time
        started.addCallbacks(self._started, self._not_started)

    def _started(self, pid: int) -> None:
        self.pid = pid
        if self.exceeded and self.exit_code is None:
            os.kill(pid, signal.SIGTERM)

    def _not_started(self, failure: Failure) -> None:
        # As a shell says it: 127, and why on stderr.
        self.err.append(str(failure.value).encode())
        self._exited(127)

    def _stdout(self, data: bytes) -> None:
        self._collect(self.out, data)
        if self.on_stdout is not None:
            self.on_stdout(data)

    def _collect(self, into: list[bytes], data: bytes) -> None:
        if self.exceeded:
            return
        self.size += len(data)
        if self.size > self.max_output:
            self.exceeded = True
            if self.exit_code is None and self.pid is not None:
                os.kill(self.pid, signal.SIGTERM)
            return
        into.append(data)

    def _eof(self) -> None:
        self.open_pipes -= 1
        self._maybe_done()

    def _exited(self, code: int) -> None:
        if self.exit_code is None:
            script_ended()
        self.exit_code = code
        self._maybe_done()

    def _release_stdin(self, result: object = None) -> object:
        if self._held_stdin is not None:
            os.close(self._held_stdin)
            self._held_stdin = None
        return result

    def _maybe_done(self) -> None:
        # As Twisted's processEnded: the process is gone and its pipes are closed.
        if self.exit_code is None or self.open_pipes or self.done.called:
            return
        self._release_stdin()
        result = ScriptResult(self.argv, self.exit_code, b"".join(self.out), b"".join(self.err))
        self.done.callback(result)


def run_script(
    argv: Sequence[str],
    *,
    env: Mapping[str, object] | None = None,
    stdin: bytes | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
    check: bool = True,
    reactor: Any = None,
    on_stdout: Callable[[bytes], None] | None = None,
    stdin_until: defer.Deferred[None] | None = None,
) -> defer.Deferred[ScriptResult]:
    """Run ``argv`` to completion with the server's environment plus ``env``.

    With ``check`` (the default) the Deferred fails with ``ScriptError`` when
    the command exits non-zero or prints more than ``max_output`` bytes.
    ``on_stdout`` is given the output as it comes (a script that says when a
    step is done before its end). With ``stdin_until`` (instead of ``stdin``)
    the script's stdin is a pipe the server holds open, writing nothing, until
    that Deferred fires or the script ends: the script can wait for its EOF
    (the server's death closes it too).
    """
    args = tuple(str(a) for a in argv)
    run = _ScriptRun(args, _environment(env), stdin, max_output, _reactor(reactor),
                     on_stdout=on_stdout, stdin_until=stdin_until)  # fmt: skip

    def finished(result: ScriptResult) -> ScriptResult:
        if run.exceeded:
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

    return run.done.addCallback(finished)


#: How much of a wrapper's own output (its start-up errors) is kept.
_STDERR_TAIL = 4096


class DetachedProcess:
    """A job wrapper started in its own session.

    ``pid`` is the wrapper's pid. ``ended`` fires with its exit status (128+N
    for signal N) if it ends while this server runs; the server, its parent,
    reaps it then. ``stderr`` is what the wrapper printed before it
    redirected its output to the job's files (its start-up errors).
    """

    def __init__(self, argv: tuple[str, ...], output: int, reactor: Any) -> None:
        self.argv = argv
        self.pid = 0  # known once started
        self.ended: defer.Deferred[int] = defer.Deferred()
        self._tail = b""
        self._output = PipeReader(reactor, output, self._keep, lambda: None)

    def _keep(self, data: bytes) -> None:
        self._tail = (self._tail + data)[-_STDERR_TAIL:]

    @property
    def stderr(self) -> bytes:
        """The wrapper's own output so far (the last 4 KiB)."""
        self._output.drain()
        return self._tail

    def _exited(self, code: int) -> None:
        if code != 0:
            _log.warn(
                "job wrapper {argv} exited {code}: {stderr}",
                argv=" ".join(self.argv),
                code=code,
                stderr=self.stderr.decode("utf-8", "replace").strip(),
            )
        self.ended.callback(code)


def spawn_detached(
    argv: Sequence[str],
    *,
    env: Mapping[str, object] | None = None,
    stdin: int | None = None,
    reactor: Any = None,
) -> defer.Deferred[DetachedProcess]:
    """Start ``argv`` (its first word a path) in a new session (``setsid``).

    The wrapper survives the server (even SIGKILL) and signals sent to the
    server's process group; stdin is the descriptor ``stdin`` (the caller's
    to close on return; None: /dev/null), stdout and stderr one pipe.
    The Deferred fires once it has exec'd, or fails with WardenError when it
    cannot be started.
    """
    args = tuple(str(a) for a in argv)
    reactor = _reactor(reactor)
    read_end, write_end = os.pipe()
    process = DetachedProcess(args, read_end, reactor)
    try:
        started = spawn(args, _environment(env), stdin=stdin, stdout=write_end, stderr=write_end,
                        setsid=True, on_exit=process._exited, reactor=reactor)  # fmt: skip
    finally:
        os.close(write_end)

    def running(pid: int) -> DetachedProcess:
        process.pid = pid
        return process

    def failed(failure: Failure) -> DetachedProcess:
        problem = failure.value
        raise WardenError(f"cannot start job wrapper: {problem}") from problem

    return started.addCallbacks(running, failed)
