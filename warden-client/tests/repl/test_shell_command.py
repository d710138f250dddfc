"""``shell --handle H`` on a real pseudo-terminal: raw keys, window size, Ctrl-D, status."""

from __future__ import annotations

import fcntl
import os
import pty
import shlex
import struct
import termios
from pathlib import Path

from warden.client import Client

from .conftest import Server, run_warden, warden_command
from .test_terminal import Terminal


class _Terminal(Terminal):
    """Terminal running any command (the tool inside a shell line)."""

    def __init__(self, command: list[str], home: Path) -> None:
        env = {**os.environ, "HOME": str(home), "TERM": "xterm"}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(command[0], command, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        self.raw = b""
        self.seen = 0


def _resize(terminal: Terminal, rows: int, columns: int) -> None:
    # As a terminal emulator does: the kernel sends SIGWINCH to the tool.
    fcntl.ioctl(terminal.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def _container(server: Server, handle: str) -> None:
    with Client(server.socket_path) as client:
        client.create(handle=handle)


def test_shell_follows_the_window_and_returns_the_status(server: Server, home: Path) -> None:
    _container(server, "box")
    # After the tool, the terminal's modes as the next program finds them.
    tool = shlex.join([*warden_command(), "--socket", server.socket_path])
    script = f"{tool} -- shell --handle box; echo status=$?; stty -a"
    terminal = _Terminal(["/bin/bash", "--norc", "-c", script], home)
    try:
        terminal.wait_for("# ")  # the container's shell's prompt (insecure: as root)
        terminal.send("echo $((6 * 7)); stty size\r")
        terminal.wait_for("42")
        terminal.wait_for("50 200")  # Terminal's size, from the start
        _resize(terminal, 33, 99)
        # The tool learns of it by a signal, the container's shell by a
        # request: ask until the new size shows.
        for _ in range(300):
            terminal.send("stty size\r")
            if "33 99" in terminal.wait_for("# "):
                break
        else:
            raise AssertionError(f"the size never followed: {terminal.text}")
        terminal.send("tty\r")
        terminal.wait_for("/dev/pts/")
        terminal.wait_for("# ")
        # Keys go through raw: Ctrl-C reaches the container's foreground job,
        # not the tool. Sent once the job prints (not once its line echoes):
        # bash hands the terminal to a job before running it, so the job then
        # holds it; earlier, the signal would go to bash, and sleep run on.
        terminal.send("(echo sleeping-$((2 + 3)); exec sleep 600)\r")
        terminal.wait_for("sleeping-5")
        terminal.send("\x03")
        terminal.wait_for("# ")
        terminal.send("echo still-$((1 + 1))-here-$?\r")
        terminal.wait_for("still-2-here-130")  # the job died of SIGINT
        terminal.wait_for("# ")
        terminal.send("(exit 3)\r")
        terminal.wait_for("# ")
        terminal.send("\x04")  # Ctrl-D at the prompt: bash exits with the last status
        terminal.wait_for("status=3")
        modes = terminal.wait_for("icanon")
        assert "-icanon" not in modes[-8:]  # cooked mode again
        assert terminal.exit_status() == 0
    finally:
        terminal.kill()


def test_shell_inside_the_interactive_prompt(server: Server, home: Path) -> None:
    _container(server, "box2")
    terminal = Terminal(["--socket", server.socket_path], home)
    try:
        terminal.wait_for_prompt()
        terminal.send("shell --handle box2\r")
        terminal.wait_for("# ")
        terminal.send("echo in-the-box\r")
        terminal.wait_for("in-the-box")
        terminal.send("exit 0\r")
        terminal.wait_for_prompt()  # back at warden>, which reads keys one by one
        terminal.send("echo --message back\r")
        terminal.wait_for("message : back")
        terminal.wait_for_prompt()
        terminal.send("\x04")
        assert terminal.exit_status() == 0
    finally:
        terminal.kill()


def test_shell_without_a_terminal_ends_at_end_of_input(server: Server, home: Path) -> None:
    _container(server, "box3")
    done = run_warden(
        "--socket", server.socket_path, "--", "shell", "--handle", "box3",
        input="echo piped-in\nexit 4\n", home=home,
    )  # fmt: skip
    assert done.returncode == 4
    assert b"piped-in" in done.stdout


def test_shell_help_and_errors(server: Server, home: Path) -> None:
    helped = run_warden("--", "shell", "--help", home=home)
    assert b"--handle <handle> (string)  # required: the container's handle" in helped.stdout
    missing = run_warden("--socket", server.socket_path, "--", "shell", home=home)
    assert missing.returncode == 1 and b"Missing required flag: '--handle'" in missing.stderr
    unknown = run_warden(
        "--socket", server.socket_path, "--", "shell", "--handle", "nope", home=home
    )
    assert unknown.returncode == 1 and b"unknown handle" in unknown.stderr


def test_stdin_and_resize_commands(server: Server, home: Path) -> None:
    _container(server, "box4")
    lines = "\n".join(
        [
            "spawn --handle box4 --script 'read -r a; echo got=$a; stty size' --tty.rows 20"
            " --tty.columns 70",
            "resize --handle box4 --job_id 1 --rows 21 --columns 71",
            # EOF after "typed" hands the line over; a second one ends read's input.
            "stdin --handle box4 --job_id 1 --data typed --eof",
            "stdin --handle box4 --job_id 1 --data '' --eof",
            "link --handle box4 --job_id 1",
            "resize --handle box4 --job_id 1 --rows 1 --columns 1",
        ]
    )
    done = run_warden("--socket", server.socket_path, input=lines + "\n", home=home)
    assert done.stdout.startswith(b"job_id : 1\n")
    assert done.stdout.endswith(b"got=typed\r\n21 71\r\n")
    assert done.stderr == b"no such job\n"  # linked: forgotten
