# -*- test-case-name: tests.repl.test_shell_command -*-
"""``shell --handle H``: an interactive shell in a container, like ``docker exec -it``.

The command is the shell's own (no request of that name): ``ShellRequest`` is
a message made here so that the flags, help and completion work as for the
others. It spawns ``bash -i`` on a pseudo-terminal of the local terminal's
size (the interactive extension: Spawn with ``tty``), then:

- the local terminal goes into raw mode, so every key (Ctrl-C, Ctrl-Z, Tab
  and Ctrl-D included) goes to the container's shell as typed;
- what is typed goes out as Stdin requests, what the job prints comes back
  through a Stream on a second connection (a blocking client waits for one
  answer at a time) and is written out as it arrives;
- SIGWINCH (the local window changed) sends a Resize;
- at the end of the local input (not a terminal) the job's input gets EOF.

It ends when the job does (``exit`` or Ctrl-D at the container's prompt),
restores the terminal and returns the job's exit status.
"""

from __future__ import annotations

import contextlib
import os
import select
import shlex
import signal
import sys
import termios
import threading
import tty
from collections.abc import Iterator
from types import FrameType

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from warden.client import Client, ServerError
from warden.protocol import Request, StreamResponse

from ._output import Output

__all__ = ["ShellRequest", "run_shell"]

#: A window size when the local input is no terminal.
DEFAULT_SIZE = (24, 80)
_CHUNK = 4096


def _shell_request_class() -> type[Request]:
    proto = descriptor_pb2.FileDescriptorProto(
        name="warden/client/repl_shell.proto", package="warden.repl", syntax="proto2"
    )
    message = proto.message_type.add(name="ShellRequest")
    field = descriptor_pb2.FieldDescriptorProto
    message.field.add(name="handle", number=1, type=field.TYPE_STRING, label=field.LABEL_REQUIRED)
    message.field.add(name="privileged", number=2, type=field.TYPE_BOOL, label=field.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    made: type[Request] = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("warden.repl.ShellRequest")
    )
    return made


#: The ``shell`` command's flags: ``--handle`` (required), ``--privileged``.
ShellRequest = _shell_request_class()


def _window_size(fd: int) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return DEFAULT_SIZE
    return (size.lines or DEFAULT_SIZE[0], size.columns or DEFAULT_SIZE[1])


@contextlib.contextmanager
def _raw(fd: int) -> Iterator[None]:
    """Raw mode on a terminal for the block; its modes restored after."""
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class _Session:
    """One shell job: the stream thread, the input loop, the window."""

    def __init__(self, client: Client, handle: str, job_id: int, output: Output) -> None:
        self.client = client
        self.handle = handle
        self.job_id = job_id
        self.output = output
        self.final: StreamResponse | None = None
        self.failure: BaseException | None = None
        self._wake_read, self._wake_write = os.pipe()

    def stream(self, socket_path: str) -> None:
        """(Thread.) Print the job's output until it ends, then wake the input loop."""
        try:
            with Client(socket_path) as streaming:
                for chunk in streaming.stream(self.handle, self.job_id):
                    if chunk.HasField("exit_status"):
                        self.final = chunk
                    elif chunk.data:
                        self.output.write(chunk.data)
        except BaseException as error:  # reported by the input loop
            self.failure = error
        finally:
            os.write(self._wake_write, b"x")

    def on_winch(self, signum: int, frame: FrameType | None) -> None:
        os.write(self._wake_write, b"w")

    def forward_input(self, fd: int) -> None:
        """Send what is typed until the job ends; a Resize per SIGWINCH."""
        input_open = True
        while True:
            readable = [self._wake_read] + ([fd] if input_open else [])
            try:
                ready, _, _ = select.select(readable, [], [])
            except InterruptedError:
                continue
            try:
                if self._wake_read in ready:
                    wakes = os.read(self._wake_read, 64)
                    if b"x" in wakes:
                        return
                    self.client.resize(self.handle, self.job_id, *_window_size(fd))
                if fd in ready:
                    data = os.read(fd, _CHUNK)
                    self.client.stdin(self.handle, self.job_id, data, eof=not data)
                    input_open = bool(data)
            except ServerError as error:
                # The job ended between two keys: the stream tells the rest.
                if not error.message.endswith(("has finished", "stdin is closed")):
                    raise
                input_open = False

    def close(self) -> None:
        os.close(self._wake_read)
        os.close(self._wake_write)


def shell_script(term: str | None) -> str:
    """The job's script: bash, interactive, told what the local terminal is."""
    return f"export TERM={shlex.quote(term or 'xterm')}; exec /bin/bash -i"


def run_shell(client: Client, request: Request, output: Output) -> int | None:
    """Run ``shell``: see the module docstring. The job's exit status."""
    fd = sys.stdin.fileno()
    handle: str = request.handle  # type: ignore[attr-defined]
    privileged = bool(request.privileged)  # type: ignore[attr-defined]
    spawned = client.spawn(
        handle, shell_script(os.environ.get("TERM")), privileged=privileged,
        tty=_window_size(fd),
    )  # fmt: skip
    session = _Session(client, handle, spawned.job_id, output)
    thread = threading.Thread(target=session.stream, args=(client.socket_path,), daemon=True)
    previous = signal.signal(signal.SIGWINCH, session.on_winch)
    try:
        with _raw(fd):
            thread.start()
            session.forward_input(fd)
        thread.join()
    finally:
        signal.signal(signal.SIGWINCH, previous)
        if not thread.is_alive():
            session.close()  # else the (daemon) thread still writes its wake-up
    if session.failure is not None:
        raise session.failure
    final = session.final
    return final.exit_status if final is not None and final.HasField("exit_status") else None
