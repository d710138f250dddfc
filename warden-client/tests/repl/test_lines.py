"""Commands piped to the tool, one per line: errors, ``--exit_on_error``, reconnection."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import time
from pathlib import Path

from .conftest import Server, run_warden, warden_command

_WAIT = 60.0  # seconds before a missing output fails the test


def test_commands_run_in_order_and_errors_do_not_stop(server: Server, home: Path) -> None:
    script = "\n".join(
        [
            "echo --message one",
            "",
            "   ",
            "bogus",
            "echo --message 'two words'",
            "info --handle nothing",
            "echo --message 'unclosed",
            "create --handle repl-lines",
            "run --handle repl-lines --script 'echo ran; exit 4'",
            "destroy --handle repl-lines",
            "ECHO --message three",
        ]
    )
    done = run_warden("--socket", server.socket_path, input=script + "\n", home=home)
    assert done.returncode == 0  # failures and exit statuses are not the loop's status
    assert done.stdout.decode() == (
        "message : one\nmessage : two words\nhandle : repl-lines\nran\nmessage : three\n"
    )
    assert done.stderr.decode() == (
        "Command: 'bogus' is non-existent.\n"
        "unknown handle\n"
        "No closing quotation: echo --message 'unclosed\n"
    )
    assert not (home / ".warden-history").exists()  # only the interactive shell keeps history


def test_a_line_that_is_not_utf8_is_refused_and_the_next_runs(server: Server, home: Path) -> None:
    done = run_warden(
        "--socket", server.socket_path, input=b"echo --message \xff\necho --message ok\n", home=home
    )
    assert (done.returncode, done.stdout) == (0, b"message : ok\n")
    assert done.stderr == b"In flag: '--message', the value is not valid UTF-8: b'\\xff'\n"


def test_trace_echoes_each_command(server: Server, home: Path) -> None:
    done = run_warden(
        "--socket", server.socket_path, "--trace", input="ping\necho  --message   x\n", home=home
    )
    assert done.stdout == b"+ ping\n+ echo --message x\nmessage : x\n"


def test_exit_on_error_stops_at_the_first_failure(server: Server, home: Path) -> None:
    done = run_warden(
        "--socket",
        server.socket_path,
        "--exit_on_error",
        input="echo --message a\nbogus\necho --message b\n",
        home=home,
    )
    assert (done.returncode, done.stdout) == (1, b"message : a\n")
    assert done.stderr == b"Command: 'bogus' is non-existent.\n"


def test_exit_on_error_stops_at_a_non_zero_exit_status(server: Server, home: Path) -> None:
    script = (
        "create --handle repl-exit\n"
        "run --handle repl-exit --script 'exit 0'\n"
        "run --handle repl-exit --script 'echo x; exit 7'\n"
        "echo --message never\n"
    )
    done = run_warden("--socket", server.socket_path, "--exit_on_error", input=script, home=home)
    assert (done.returncode, done.stdout) == (7, b"handle : repl-exit\nx\n")
    run_warden("--socket", server.socket_path, "--", "destroy", "--handle", "repl-exit", home=home)


class Piped:
    """The tool reading commands from a pipe, fed and read one step at a time."""

    def __init__(self, server: Server, home: Path) -> None:
        self.process = subprocess.Popen(
            [*warden_command(), "--socket", server.socket_path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "HOME": str(home)},
        )
        self.out = b""
        self.err = b""

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def wait_for(self, needle: bytes, *, stream: str = "out") -> None:
        """Read until ``needle`` has appeared on stdout (or stderr)."""
        assert self.process.stdout is not None and self.process.stderr is not None
        deadline = time.monotonic() + _WAIT
        while needle not in (self.out if stream == "out" else self.err):
            left = deadline - time.monotonic()
            assert left > 0, (needle, self.out, self.err)
            ready, _, _ = select.select([self.process.stdout, self.process.stderr], [], [], left)
            for pipe in ready:
                data = os.read(pipe.fileno(), 65536)
                if pipe is self.process.stdout:
                    self.out += data
                else:
                    self.err += data

    def finish(self) -> int:
        out, err = self.process.communicate(timeout=_WAIT)
        self.out += out
        self.err += err
        return self.process.returncode


def test_a_broken_connection_is_reopened_and_the_command_retried(
    server: Server, home: Path
) -> None:
    piped = Piped(server, home)
    piped.send("echo --message one")
    piped.wait_for(b"message : one\n")
    server.restart()
    piped.send("echo --message two")
    piped.wait_for(b"message : two\n")
    piped.send("echo --message three")
    assert piped.finish() == 0
    assert piped.out == (b"message : one\nReconnecting...\nmessage : two\nmessage : three\n")
    assert piped.err == b""


def test_a_server_that_stays_away_is_reported(server: Server, home: Path) -> None:
    piped = Piped(server, home)
    piped.send("ping")
    piped.send("echo --message one")
    piped.wait_for(b"message : one\n")
    server.stop()
    piped.send("echo --message two")
    piped.wait_for(b"No such file or directory\n", stream="err")
    server.start()
    piped.send("echo --message three")
    assert piped.finish() == 0
    assert piped.out == b"message : one\nReconnecting...\nmessage : three\n"
    assert piped.err == (
        f"cannot connect to {server.socket_path}: No such file or directory\n".encode()
    )


def test_ctrl_c_outside_the_prompt_ends_the_tool(server: Server, home: Path) -> None:
    piped = Piped(server, home)
    piped.send("create --handle repl-sigint")
    piped.send("run --handle repl-sigint --script 'printf \"up%s\\n\" -now; sleep 600'")
    piped.wait_for(b"up-now\n")
    piped.process.send_signal(signal.SIGINT)
    assert piped.finish() == 130
    assert piped.out == b"handle : repl-sigint\nup-now\n"
    assert piped.err == b"\nExiting...\n"


def test_lines_are_split_as_a_shell_splits_them_and_traced_quoted(
    server: Server, home: Path
) -> None:
    script = "\n".join(
        [
            "create --handle repl-words",
            'run --handle repl-words --script "echo tick \\$HOME; echo \\"q\\""',
            "echo --message 'two words'",
            "destroy --handle repl-words",
        ]
    )
    done = run_warden("--socket", server.socket_path, "--trace", input=script + "\n", home=home)
    assert done.returncode == 0, done.stderr
    # The container's shell got `echo tick $HOME` (its HOME is not set here).
    assert done.stdout.decode() == (
        "+ create --handle repl-words\n"
        "handle : repl-words\n"
        "+ run --handle repl-words --script 'echo tick $HOME; echo \"q\"'\n"
        "tick\nq\n"
        "+ echo --message 'two words'\n"
        "message : two words\n"
        "+ destroy --handle repl-words\n"
    )


def test_a_job_that_failed_shows_the_containers_events(server: Server, home: Path) -> None:
    # Over the default output limit (10 MiB): the job ends with 255 and the event.
    script = "\n".join(
        [
            "create --handle repl-events",
            "run --handle repl-events --script 'head -c 11000000 /dev/zero'",
            "run --handle repl-events --script 'exit 3'",
            "run --handle repl-events --script 'true'",
            "destroy --handle repl-events",
        ]
    )
    done = run_warden("--socket", server.socket_path, input=script + "\n", home=home)
    assert done.returncode == 0
    # Each failed run tells the events; the one that succeeded does not.
    assert done.stderr.count(b"event : command exceeded maximum output\n") == 2
