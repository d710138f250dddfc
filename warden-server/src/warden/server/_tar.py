# -*- test-case-name: tests.test_tar_streams -*-
"""Tar processes fed and drained through pipes, with back-pressure both ways.

StreamIn and StreamOut (extensions) move a tar stream in chunks; a backend's
``stream.sh`` runs tar where the container's view is the jail. ``TarIn`` is
the extracting side: each chunk goes to tar's stdin, and ``write`` returns
only once the pipe took all of it, so the caller (the connection, one
request at a time) stops reading the client while the pipe is full.
``TarOut`` is the packing side: tar's stdout is read in chunks of up to
``CHUNK`` bytes for the caller to send, and reading stops while the caller
says its transport is full (``pause``/``resume``). Neither holds more than a
chunk or two of the archive. Both keep the last bytes tar printed on stderr
for the error message.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure

from ._errors import WardenError
from ._messages import script_reason
from ._spawn import PipeReader, spawn

__all__ = ["CHUNK", "TarIn", "TarOut"]

#: The size of a chunk on the wire (both directions).
CHUNK = 64 * 1024
#: How much of what tar printed on stderr is kept for the error.
_STDERR_TAIL = 8192


class _TarProcess:
    """A spawned stream.sh: its stderr tail, its exit status."""

    def __init__(
        self,
        what: str,
        argv: Sequence[str],
        env: Mapping[str, object] | None,
        reactor: Any,
        *,
        stdin: int | None,
        stdout: int,
    ) -> None:
        self.what = what
        self.reactor = reactor
        self.stderr = b""
        self.exit_code: int | None = None
        self.ended: defer.Deferred[int] = defer.Deferred()
        self._stderr_open = True
        merged = dict(os.environ)
        merged.update({key: str(value) for key, value in (env or {}).items()})
        self.pid: int | None = None
        self._kill_on_start = False
        self._exit_waiters: list[defer.Deferred[None]] = []
        err_read, err_write = os.pipe()
        try:
            started = spawn(tuple(str(a) for a in argv), merged, stdin=stdin, stdout=stdout,
                            stderr=err_write, on_exit=self._exited, reactor=reactor)  # fmt: skip
        finally:
            # The spawner holds its own copies until the child has them.
            os.close(err_write)
        PipeReader(reactor, err_read, self._keep, self._stderr_closed)
        self._started: defer.Deferred[None] = started.addCallbacks(
            self._on_started, self._not_started
        )

    def _on_started(self, pid: int) -> None:
        self.pid = pid
        if self._kill_on_start:
            self.kill()

    def _not_started(self, failure: Failure) -> Failure:
        # No on_exit follows a failed start: end as a shell would (127).
        self._keep(str(failure.value).encode())
        self._exited(127)
        return failure

    async def start(self) -> None:
        """Wait until tar runs; WardenError when it could not start."""
        try:
            await self._started
        except OSError as problem:
            reason = problem.strerror or str(problem)
            raise WardenError(f"{self.what} failed: cannot start tar ({reason})") from None

    def _keep(self, data: bytes) -> None:
        self.stderr = (self.stderr + data)[-_STDERR_TAIL:]

    def _stderr_closed(self) -> None:
        self._stderr_open = False
        self._maybe_ended()

    def _exited(self, code: int) -> None:
        self.exit_code = code
        waiters, self._exit_waiters = self._exit_waiters, []
        for waiter in waiters:
            waiter.callback(None)
        self._maybe_ended()

    def exit_waiter(self) -> defer.Deferred[None]:
        """A Deferred that fires once tar has exited and been reaped (its own, so
        that waiting for it leaves ``ended``'s result to ``result()``)."""
        waiter: defer.Deferred[None] = defer.Deferred()
        if self.exit_code is not None:
            waiter.callback(None)
        else:
            self._exit_waiters.append(waiter)
        return waiter

    def _maybe_ended(self) -> None:
        if self.exit_code is not None and not self._stderr_open and not self.ended.called:
            self.ended.callback(self.exit_code)

    def kill(self) -> None:
        """End tar now (the client went away or the stream failed)."""
        if self.exit_code is not None:
            return
        if self.pid is None:
            self._kill_on_start = True  # not started yet: as soon as it is
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def error(self) -> WardenError:
        """The error for a tar that did not exit 0: what it said, in one line."""
        reason = script_reason(self.stderr, lines=4)
        if not reason:
            reason = f"tar exited with status {self.exit_code}"
        return WardenError(f"{self.what} failed: {reason}")

    async def result(self) -> None:
        """Wait for tar's end; WardenError unless it exited 0."""
        code = await self.ended
        if code != 0:
            raise self.error()


class TarIn:
    """Extraction: chunks written to ``stream.sh in``'s stdin, in order."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, object] | None, reactor: Any):
        in_read, self._fd = os.pipe()
        devnull = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
        try:
            self.process = _TarProcess(
                "stream_in", argv, env, reactor, stdin=in_read, stdout=devnull
            )
        except BaseException:
            os.close(self._fd)
            raise
        finally:
            os.close(in_read)
            os.close(devnull)
        os.set_blocking(self._fd, False)
        self._reactor = reactor
        self._pending = memoryview(b"")
        self._drained: defer.Deferred[None] | None = None
        self._writing = False

    async def start(self) -> None:
        """Wait until tar runs; WardenError (and the pipe closed) when it could not start."""
        try:
            await self.process.start()
        except WardenError:
            self.close_stdin()
            raise

    async def write(self, data: bytes) -> None:
        """Give tar one chunk; returns once the pipe took it all.

        WardenError (tar's own words) when tar stopped reading: it failed.
        """
        if self._fd < 0:
            return  # tar read its archive to the end already: the rest is padding
        self._pending = memoryview(data)
        if not self._flush():
            self._drained = defer.Deferred()
            self._reactor.addWriter(self)
            self._writing = True
            try:
                await self._drained
            finally:
                self._drained = None
        if self._pending:  # tar closed its end: it failed, or read the archive's end
            self.close_stdin()
            self._pending = memoryview(b"")
            if await self.process.ended != 0:
                raise self.process.error()

    def _flush(self) -> bool:
        """Write what the pipe takes; True when nothing is left (or tar is gone)."""
        while self._pending:
            try:
                written = os.write(self._fd, self._pending)
            except BlockingIOError:
                return False
            except InterruptedError:
                continue
            except OSError:  # EPIPE: tar ended
                return True
            self._pending = self._pending[written:]
        return True

    async def finish(self) -> None:
        """End of the stream: close tar's stdin and wait for it; WardenError if it failed."""
        self.close_stdin()
        await self.process.result()

    def close_stdin(self) -> None:
        """Close the pipe to tar (its end of input)."""
        if self._writing:
            self._reactor.removeWriter(self)
            self._writing = False
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def abort(self) -> None:
        """Give up: close the pipe and kill tar."""
        self.close_stdin()
        self.process.kill()
        if self._drained is not None and not self._drained.called:
            self._drained.callback(None)

    # IWriteDescriptor

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "TarIn"

    def doWrite(self) -> None:
        if self._flush() or self._fd < 0:
            self._reactor.removeWriter(self)
            self._writing = False
            if self._drained is not None and not self._drained.called:
                self._drained.callback(None)

    def connectionLost(self, reason: Failure) -> None:
        self.abort()


class TarOut:
    """Packing: ``stream.sh out``'s stdout in chunks to ``on_chunk``.

    Only full chunks are passed on while tar runs; the rest once it has
    exited 0, so that a tar that fails at once (a missing path) answers an
    error alone.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, object] | None,
        reactor: Any,
        on_chunk: Callable[[bytes], None],
    ):
        out_read, out_write = os.pipe()
        try:
            self.process = _TarProcess("stream_out", argv, env, reactor, stdin=None,
                                       stdout=out_write)  # fmt: skip
        except BaseException:
            os.close(out_read)
            raise
        finally:
            os.close(out_write)
        self._reactor = reactor
        self._fd = out_read
        self._on_chunk = on_chunk
        self._buffer = bytearray()
        self._paused = False
        self.eof: defer.Deferred[None] = defer.Deferred()
        os.set_blocking(out_read, False)
        reactor.addReader(self)

    async def start(self) -> None:
        """Wait until tar runs; WardenError when it could not start."""
        await self.process.start()

    def pause(self) -> None:
        """Stop reading tar's output (the client's side is full)."""
        if not self._paused and self._fd >= 0:
            self._paused = True
            self._reactor.removeReader(self)

    def resume(self) -> None:
        """Read tar's output again."""
        if self._paused and self._fd >= 0:
            self._paused = False
            self._reactor.addReader(self)

    async def run(self) -> None:
        """Wait for the end of the stream; WardenError if tar failed.

        What tar printed before it failed has been sent: the error ends the
        stream (clients discard the partial archive).
        """
        await self.eof
        await self.process.result()
        if self._buffer:
            self._emit()

    def _emit(self) -> None:
        data, self._buffer = bytes(self._buffer), bytearray()
        self._on_chunk(data)

    def abort(self) -> None:
        """Give up: stop reading and kill tar."""
        self._close()
        self.process.kill()

    def _close(self) -> None:
        if self._fd >= 0:
            if not self._paused:
                self._reactor.removeReader(self)
            os.close(self._fd)
            self._fd = -1
        if not self.eof.called:
            self.eof.callback(None)

    # IReadDescriptor

    def fileno(self) -> int:
        return self._fd

    def logPrefix(self) -> str:
        return "TarOut"

    def doRead(self) -> None:
        while self._fd >= 0 and not self._paused:
            try:
                data = os.read(self._fd, CHUNK - len(self._buffer))
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            except OSError:
                data = b""
            if not data:
                self._close()
                return
            self._buffer += data
            if len(self._buffer) >= CHUNK:
                self._emit()

    def connectionLost(self, reason: Failure) -> None:
        self._close()
