"""The real ``warden`` tool on a pseudo-terminal: prompt, Tab, Ctrl-C, Ctrl-D, history."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import Server, warden_command

_WAIT = 60.0  # seconds before missing terminal output fails the test
_ESCAPE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")
_CURSOR_QUERY = b"\x1b[6n"
PROMPT = "warden>"  # the space after it is drawn as a cursor movement


class Terminal:
    """The tool running on a pty; keys in, screen text (escapes removed) out."""

    def __init__(self, arguments: list[str], home: Path) -> None:
        env = {**os.environ, "HOME": str(home), "TERM": "xterm"}
        command = [*warden_command(), *arguments]
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: becomes the tool, the pty its controlling terminal
            os.execve(command[0], command, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        self.raw = b""
        self.seen = 0  # how much of the text earlier waits consumed

    @property
    def text(self) -> str:
        return _ESCAPE.sub(b"", self.raw).decode(errors="replace")

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def _read(self, left: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], left)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the tool has exited and closed the terminal
            return False
        if not data:
            return False
        if _CURSOR_QUERY in data:  # answer as a terminal would: row 1, column 1
            os.write(self.fd, b"\x1b[1;1R")
        self.raw += data
        return True

    def wait_for(self, needle: str) -> str:
        """Read until ``needle`` appears after what earlier waits consumed."""
        deadline = time.monotonic() + _WAIT
        while needle not in self.text[self.seen :]:
            left = deadline - time.monotonic()
            assert left > 0, (needle, self.text[self.seen :])
            assert self._read(left), (needle, self.text[self.seen :])
        found = self.text.index(needle, self.seen) + len(needle)
        consumed, self.seen = self.text[self.seen : found], found
        return consumed

    def wait_for_prompt(self) -> None:
        """The prompt, once it reads keys one by one: keys typed while the tty
        is still in cooked (line) mode would wait there for a newline."""
        self.wait_for(PROMPT)
        deadline = time.monotonic() + _WAIT
        while termios.tcgetattr(self.fd)[3] & termios.ICANON:
            left = deadline - time.monotonic()
            assert left > 0, "the prompt never left cooked mode"
            self._read(min(left, 0.02))

    def exit_status(self) -> int:
        deadline = time.monotonic() + _WAIT
        while self._read(max(deadline - time.monotonic(), 0.01)):
            assert time.monotonic() < deadline, self.text
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        self.pid = 0
        return os.waitstatus_to_exitcode(status)

    def kill(self) -> None:
        if self.pid:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            os.close(self.fd)
            self.pid = 0


@pytest.fixture
def terminal(server: Server, home: Path) -> Iterator[Terminal]:
    running = Terminal(["--socket", server.socket_path], home)
    try:
        yield running
    finally:
        running.kill()


def test_prompt_completion_interrupts_and_history(terminal: Terminal, home: Path) -> None:
    terminal.wait_for(PROMPT)
    terminal.send("ec\t")
    terminal.wait_for("echo")
    terminal.send(" --mes\t")
    terminal.wait_for("--message")
    terminal.send(" hi\r")
    terminal.wait_for("message : hi")
    terminal.wait_for(PROMPT)

    # Tab on a flag whose value is an enum offers the names.
    terminal.send("create --bind_mounts[0].mode r\t")
    terminal.wait_for("RO")
    terminal.send("\x03")  # Ctrl-C abandons the line
    terminal.wait_for(PROMPT)

    terminal.send("echo --message lost\x03")
    terminal.wait_for(PROMPT)
    terminal.send("create --handle repl-pty\r")
    terminal.wait_for("handle : repl-pty")

    # Ctrl-C while a command runs abandons the command, and the shell goes on.
    terminal.send("run --handle repl-pty --script 'printf \"up%s\\n\" -now; sleep 600'\r")
    terminal.wait_for("up-now")  # the output, not the echo of the line
    terminal.send("\x03")
    terminal.wait_for("Interrupted.")
    terminal.wait_for(PROMPT)
    terminal.send("destroy --handle repl-pty\r")
    terminal.wait_for(PROMPT)
    terminal.send("info --handle repl-pty\r")
    terminal.wait_for("unknown handle")
    assert "message : lost" not in terminal.text

    terminal.wait_for(PROMPT)  # keys typed before the prompt meet the tty's cooked mode
    terminal.send("\x04")  # Ctrl-D ends the shell
    assert terminal.exit_status() == 0
    history = json.loads((home / ".warden-history").read_text())
    assert history == [
        "echo --message hi",
        "create --handle repl-pty",
        "run --handle repl-pty --script 'printf \"up%s\\n\" -now; sleep 600'",
        "destroy --handle repl-pty",
        "info --handle repl-pty",
    ]


def test_history_survives_sessions(server: Server, home: Path) -> None:
    (home / ".warden-history").write_text(json.dumps(["echo --message remembered"]))
    terminal = Terminal(["--socket", server.socket_path], home)
    try:
        terminal.wait_for(PROMPT)
        terminal.send("\x1b[A")  # up arrow
        terminal.wait_for("echo --message remembered")
        terminal.send("\r")
        terminal.wait_for("message : remembered")
        terminal.wait_for(PROMPT)
        terminal.send("\x04")
        assert terminal.exit_status() == 0
    finally:
        terminal.kill()


def test_tab_completes_live_handles(terminal: Terminal) -> None:
    terminal.wait_for_prompt()
    terminal.send("create --handle repl-tab-one\r")
    terminal.wait_for("handle : repl-tab-one")
    terminal.wait_for_prompt()
    terminal.send("info --handle repl-tab-o\t")
    terminal.wait_for("repl-tab-o")
    # The completion from a List is drawn (the renderer may redraw only the
    # tail), then the line runs as completed: "repl-tab-o" would be unknown.
    terminal.wait_for("ne")
    terminal.send("\r")
    terminal.wait_for("state : active")
    terminal.wait_for_prompt()
    terminal.send("destroy --handle repl-tab-one\r")
    terminal.wait_for_prompt()
    terminal.send("\x04")
    assert terminal.exit_status() == 0
