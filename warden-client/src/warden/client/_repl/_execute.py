# -*- test-case-name: tests.repl.test_cli,tests.repl.test_lines -*-
"""Run one parsed command against the server and print what it returns.

Most commands print their response as ``field : value`` lines. Three print a
job's output instead, stdout to stdout and stderr to stderr:

- ``run``: a Spawn with the same fields, then a Stream of the new job; the
  job's exit status becomes the command's.
- ``stream``: the job's output as it arrives.
- ``link``: the job's whole output once it ended; its exit status becomes the
  command's.
- ``shell``: an interactive shell in the container on the local terminal
  (``_terminal.py``); its exit status becomes the command's.

``stream_in`` and ``stream_out`` move a tar stream between a local path and
the container (see ``_tar_forms``): ``--src`` a local tar file or a
directory (sent as a tar stream made by the local ``tar``), ``--dst`` the
local file the stream goes to. They print ``done : true`` when done.

When such a job ends with a status other than 0, the container's events
(``out of memory``, ``command exceeded maximum output``) follow on stderr as
``event : <event>`` lines: the job's output cannot tell them.

A connection that was open before the command and turns out broken is
reopened once and the command sent again, after ``Reconnecting...``, unless
part of the command already took effect (``run`` whose job started).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
from collections.abc import Iterator, Sequence
from typing import IO, Any

from warden.client import Client, ClientConnectionError, ClientTimeoutError
from warden.protocol import (
    LinkRequest,
    LinkResponse,
    RunRequest,
    SpawnRequest,
    StreamOutResponse,
    StreamRequest,
    StreamResponse,
)

from ._errors import CommandError
from ._format import format_response
from ._help import command_help, global_help
from ._output import Output
from ._parse import CommandHelp, GlobalHelp, Invocation, parse_command
from ._tar_forms import StreamInForm, StreamOutForm
from ._terminal import ShellRequest, run_shell

__all__ = ["LIST_TIMEOUT", "Executor"]

#: Seconds a List for completion may take: a Tab must not hang the prompt.
LIST_TIMEOUT = 2.0


class Executor:
    """Parses command words, sends the request, prints the outcome.

    ``execute`` returns the command's exit status when it has one (``run``,
    ``link``), else None. It raises CommandError for bad input, and lets the
    client's errors (ServerError, ClientConnectionError) and ProtocolError
    through for the caller to report.
    """

    def __init__(self, client: Client, output: Output, *, trace: bool = False) -> None:
        self.client = client
        self.output = output
        self.trace = trace
        self._started = False  # part of the current command took effect

    def execute(self, words: Sequence[str]) -> int | None:
        """Run one command given as words (``["echo", "--message", "hi"]``)."""
        if self.trace:
            # Quoted so that the line can be pasted back.
            self.output.write("+ " + shlex.join(words) + "\n")
        parsed = parse_command(words)
        if isinstance(parsed, GlobalHelp):
            self.output.write(global_help())
            return None
        if isinstance(parsed, CommandHelp):
            self.output.write(command_help(parsed.command))
            return None
        return self._send(parsed)

    def list_handles(self) -> list[str]:
        """The server's live handles (for completion); the client's errors go through."""
        if not self.client.connected:
            self.client.connect()
        return list(self.client.list(timeout=LIST_TIMEOUT).handles)

    def drop_connection(self) -> None:
        """Forget the connection (after an interrupted command left it mid-answer)."""
        if self.client.connected:
            self.client.disconnect()

    def _send(self, invocation: Invocation) -> int | None:
        was_open = self.client.connected
        if not was_open:
            self.client.connect()
        try:
            return self._perform(invocation)
        except ClientTimeoutError:
            raise
        except ClientConnectionError:
            if not was_open or self._started:
                raise
        self.output.write("Reconnecting...")
        try:
            self.client.reconnect()
        finally:
            self.output.write("\n")
        return self._perform(invocation)

    def _perform(self, invocation: Invocation) -> int | None:
        self._started = False
        request = invocation.request
        if isinstance(request, RunRequest):
            return self._run(request)
        if isinstance(request, ShellRequest):
            self._started = True  # a shell is not started twice
            return run_shell(self.client, request, self.output)
        if isinstance(request, StreamRequest):
            self._stream(request)
            return None
        if isinstance(request, StreamInForm):
            self._stream_in(request)
            return None
        if isinstance(request, StreamOutForm):
            self._stream_out(request)
            return None
        if isinstance(request, LinkRequest):
            linked = self.client.call(request)
            self.output.write(linked.stdout)
            self.output.error(linked.stderr)
            self._tell_events(linked)
            return linked.exit_status if linked.HasField("exit_status") else None
        self.output.write(format_response(self.client.call(request)))
        return None

    def _run(self, request: RunRequest) -> int | None:
        # Run and Spawn share their field numbers: the bytes of one are the other.
        spawn = SpawnRequest.FromString(request.SerializeToString())
        job_id = self.client.call(spawn).job_id
        self._started = True
        final = self._stream(StreamRequest(handle=request.handle, job_id=job_id))
        return final.exit_status if final is not None and final.HasField("exit_status") else None

    def _stream(self, request: StreamRequest) -> StreamResponse | None:
        final = None
        for chunk in self.client.stream(request):
            self._started = True
            if chunk.name == "stdout":
                self.output.write(chunk.data)
            elif chunk.name == "stderr":
                self.output.error(chunk.data)
            final = chunk
        if final is not None:
            self._tell_events(final)
        return final

    def _stream_in(self, form: Any) -> None:
        with _tar_source(form.src) as source:
            self._started = True  # the file is being read: no second try
            response = self.client.stream_in(form.handle, form.dst, source)
        self.output.write(format_response(response))

    def _stream_out(self, form: Any) -> None:
        try:
            target = open(form.dst, "wb")  # noqa: SIM115 (removed below on failure)
        except OSError as error:
            raise CommandError(f"cannot write {form.dst}: {error.strerror}") from None
        try:
            with target:
                for chunk in self.client.stream_out(form.handle, form.src):
                    self._started = True
                    target.write(chunk)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(form.dst)  # no partial archive left behind
            raise
        self.output.write(format_response(StreamOutResponse(done=True)))

    def _tell_events(self, ended: LinkResponse | StreamResponse) -> None:
        """A job that failed: the container's events say why when the job
        cannot (``out of memory``: the OOM killer ended it)."""
        if ended.exit_status == 0 or not ended.HasField("info"):
            return
        for event in ended.info.events:
            self.output.error(f"event : {event}\n")


@contextlib.contextmanager
def _tar_source(path: str) -> Iterator[IO[bytes]]:
    """A tar stream of a local path: the file itself, or a directory's
    contents packed by the local tar as they are sent."""
    if os.path.isdir(path):
        packer = subprocess.Popen(
            ["tar", "-c", "-f", "-", "-C", path, "."],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert packer.stdout is not None and packer.stderr is not None
        try:
            yield packer.stdout
        finally:
            packer.stdout.close()
            said = packer.stderr.read().decode("utf-8", "replace").strip()
            packer.stderr.close()
            if packer.wait() != 0 and said:
                raise CommandError(f"tar of {path} failed: {said}")
        return
    try:
        source = open(path, "rb")  # noqa: SIM115 (closed below)
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    with source:
        yield source
