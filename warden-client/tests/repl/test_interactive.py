"""The interactive shell driven through prompt_toolkit's pipe input.

Tab is not tested here: completion runs as a background task of the prompt,
and keys queued in a pipe are all handled before it runs. test_terminal.py
presses Tab on a real pty; test_completion.py checks the candidates.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from warden.client import Client
from warden.client._repl._execute import Executor
from warden.client._repl._loop import run_interactive
from warden.client._repl._output import Output

from .conftest import Server

ENTER = "\r"
CTRL_C = "\x03"
CTRL_D = "\x04"
UP = "\x1b[A"


class Session:
    """One run of the prompt over typed keys; what it printed and returned."""

    def __init__(self, socket_path: str, history: Path) -> None:
        self.socket_path = socket_path
        self.history = history
        self.out = io.BytesIO()
        self.err = io.BytesIO()

    def type(self, keys: str, *, exit_on_error: bool = False, trace: bool = False) -> int:
        client = Client(self.socket_path)
        executor = Executor(client, Output(self.out, self.err), trace=trace)
        try:
            with create_pipe_input() as pipe:
                pipe.send_text(keys)
                return run_interactive(
                    executor,
                    history_path=str(self.history),
                    exit_on_error=exit_on_error,
                    prompt_input=pipe,
                    prompt_output=DummyOutput(),
                )
        finally:
            if client.connected:
                client.disconnect()

    @property
    def stdout(self) -> str:
        return self.out.getvalue().decode()

    @property
    def stderr(self) -> str:
        return self.err.getvalue().decode()


def session(server: Server, tmp_path: Path) -> Session:
    return Session(server.socket_path, tmp_path / "history.json")


def test_commands_until_ctrl_d(server: Server, tmp_path: Path) -> None:
    shell = session(server, tmp_path)
    status = shell.type(
        "echo --message hi" + ENTER
        + ENTER
        + "bogus" + ENTER
        + "create --handle repl-prompt" + ENTER
        + "run --handle repl-prompt --script 'echo out; echo err >&2; exit 3'" + ENTER
        + "destroy --handle repl-prompt" + ENTER
        + "ping" + ENTER
        + CTRL_D
    )  # fmt: skip
    assert status == 0
    assert shell.stdout == "message : hi\nhandle : repl-prompt\nout\n"
    assert shell.stderr == "Command: 'bogus' is non-existent.\nerr\n"


def test_ctrl_c_abandons_the_line(server: Server, tmp_path: Path) -> None:
    shell = session(server, tmp_path)
    status = shell.type("echo --message lost" + CTRL_C + "echo --message kept" + ENTER + CTRL_D)
    assert status == 0
    assert shell.stdout == "message : kept\n"
    assert json.loads(shell.history.read_text()) == ["echo --message kept"]


def test_ctrl_d_only_ends_an_empty_line(server: Server, tmp_path: Path) -> None:
    shell = session(server, tmp_path)
    # Ctrl-D in a line deletes the character under the cursor, like readline.
    status = shell.type("echo --message ab" + "\x1b[D" + CTRL_D + ENTER + CTRL_D)
    assert status == 0
    assert shell.stdout == "message : a\n"


def test_history_is_saved_and_restored(server: Server, tmp_path: Path) -> None:
    shell = session(server, tmp_path)
    shell.history.write_text(json.dumps(["echo --message from-before"]))
    shell.type("ping" + ENTER + "bogus" + ENTER + CTRL_D)
    assert json.loads(shell.history.read_text()) == [
        "echo --message from-before",
        "ping",
        "bogus",
    ]
    # Up arrow three times reaches the line saved by an earlier session.
    again = session(server, tmp_path)
    again.type(UP + UP + UP + ENTER + CTRL_D)
    assert again.stdout == "message : from-before\n"


def test_help_and_trace(server: Server, tmp_path: Path) -> None:
    shell = session(server, tmp_path)
    shell.type("help" + ENTER + "echo --help" + ENTER + CTRL_D, trace=True)
    assert shell.stdout.startswith("+ help\n\n\tbulk_info ")
    assert "+ echo --help\ncommand: echo\n" in shell.stdout


def test_exit_on_error(server: Server, tmp_path: Path) -> None:
    shell = session(server, tmp_path)
    status = shell.type(
        "echo --message a" + ENTER + "info --handle nope" + ENTER + "echo --message b" + ENTER,
        exit_on_error=True,
    )
    assert (status, shell.stdout, shell.stderr) == (1, "message : a\n", "unknown handle\n")

    shell = session(server, tmp_path)
    status = shell.type(
        "create --handle repl-eoe" + ENTER
        + "run --handle repl-eoe --script 'exit 9'" + ENTER
        + "echo --message never" + ENTER,
        exit_on_error=True,
    )  # fmt: skip
    assert (status, shell.stdout) == (9, "handle : repl-eoe\n")
    session(server, tmp_path).type("destroy --handle repl-eoe" + ENTER + CTRL_D)


def test_reconnects_after_the_server_restarts(server: Server, tmp_path: Path) -> None:
    shell = session(server, tmp_path)
    client = Client(server.socket_path)
    executor = Executor(client, Output(shell.out, shell.err))
    with create_pipe_input() as pipe:
        pipe.send_text("echo --message one" + ENTER + CTRL_D)
        run_interactive(
            executor,
            history_path=str(shell.history),
            prompt_input=pipe,
            prompt_output=DummyOutput(),
        )
    assert client.connected
    server.restart()
    with create_pipe_input() as pipe:
        pipe.send_text("echo --message two" + ENTER + CTRL_D)
        run_interactive(
            executor,
            history_path=str(shell.history),
            prompt_input=pipe,
            prompt_output=DummyOutput(),
        )
    client.disconnect()
    assert shell.stdout == "message : one\nReconnecting...\nmessage : two\n"
    assert shell.stderr == ""
