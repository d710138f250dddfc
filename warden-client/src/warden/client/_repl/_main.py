# -*- test-case-name: tests.repl.test_cli -*-
"""``warden [--socket PATH] [--trace] [--exit_on_error] [-- COMMAND FLAGS...]``.

Three modes:

- a command after ``--`` runs once (its words as given, no shell splitting);
- with no command and a terminal on standard input: the interactive prompt;
- with no command and a pipe or file on standard input: one command per line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

from warden.client import DEFAULT_SOCKET_PATH, Client, ClientError
from warden.protocol import ProtocolError

from ._errors import CommandError, UsageError
from ._execute import Executor
from ._help import global_help
from ._history import default_history_path
from ._loop import run_interactive, run_lines
from ._output import Output

__all__ = ["Options", "main", "parse_arguments", "usage"]

#: Exit statuses for bad options, after Ctrl-C, and when standard output is closed.
USAGE_STATUS: Final = 2
INTERRUPTED_STATUS: Final = 130
BROKEN_PIPE_STATUS: Final = 141

_OPTIONS: Final[tuple[tuple[str, str, str], ...]] = (
    # (name, argument, description)
    ("socket", "PATH", f"Path of the server's socket (default: {DEFAULT_SOCKET_PATH})."),
    ("trace", "", "Print each command, after a '+', before running it."),
    ("exit_on_error", "", "Stop at the first command that fails or exits non-zero."),
    ("help", "", "Show this help."),
)
_OPTION_WIDTH: Final = 32  # the option column; commands are listed 3 narrower


@dataclass
class Options:
    """The tool's options and the command words after ``--``."""

    socket_path: str = DEFAULT_SOCKET_PATH
    trace: bool = False
    exit_on_error: bool = False
    help: bool = False
    command: list[str] = field(default_factory=list)


def usage() -> str:
    """The text of ``warden --help``."""
    lines = [
        "Usage: warden [options] -- [commands]",
        "Starts the interactive shell unless a command follows '--'; reads one",
        "command per line when standard input is not a terminal.",
        "",
        "[options] can be one of the following:",
        "",
    ]
    for name, argument, description in _OPTIONS:
        left = f"--{name} {argument}".rstrip()
        lines.append(f"    {left:<{_OPTION_WIDTH}} {description}")
    lines += ["", "[commands] can be one of the following, one per line:"]
    return "\n".join(lines) + "\n" + global_help(_OPTION_WIDTH - 3) + "\n"


def _option_name(word: str) -> str:
    """The option a word names; a unique abbreviation will do (``--sock``)."""
    given = word[2:].split("=", 1)[0]
    names = [name for name, _, _ in _OPTIONS]
    if given in names:
        return given
    matches = [name for name in names if given and name.startswith(given)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UsageError(f"ambiguous option: {word}")
    raise UsageError(f"invalid option: {word}")


def parse_arguments(arguments: Sequence[str]) -> Options:
    """Parse the tool's own options and split off the command after ``--``."""
    options = Options()
    if arguments.count("--") > 1:
        raise UsageError("Delimiter: '--' specified multiple times.")
    if "--" in arguments:
        split = arguments.index("--")
        own, options.command = list(arguments[:split]), list(arguments[split + 1 :])
    else:
        own = list(arguments)
    position = 0
    while position < len(own):
        word = own[position]
        position += 1
        if not word.startswith("-"):
            raise UsageError(f"unexpected argument: '{word}' (put the command after '--')")
        if not word.startswith("--"):
            raise UsageError(f"invalid option: {word}")
        name = _option_name(word)
        value = word.split("=", 1)[1] if "=" in word else None
        if name == "socket":
            if value is None:
                if position >= len(own):
                    raise UsageError(f"missing argument: {word}")
                value = own[position]
                position += 1
            options.socket_path = value
        elif value is not None:
            raise UsageError(f"needless argument: {word}")
        else:
            setattr(options, name, True)
    return options


def _input_lines() -> Iterator[str]:
    """Standard input's lines; bytes that are not UTF-8 survive as surrogates."""
    for line in sys.stdin.buffer:
        yield line.decode("utf-8", errors="surrogateescape")


def _run_once(executor: Executor, words: list[str]) -> int:
    try:
        status = executor.execute(words)
    except (CommandError, ClientError, ProtocolError) as error:
        executor.output.error(f"{error}\n")
        return 1
    return status or 0


def main(arguments: Sequence[str] | None = None) -> int:
    """The ``warden`` console script; returns the exit status."""
    output = Output()
    try:
        options = parse_arguments(sys.argv[1:] if arguments is None else arguments)
    except UsageError as error:
        output.error(f"warden: {error}\nTry 'warden --help'.\n")
        return USAGE_STATUS
    if options.help:
        output.write(usage())
        return 0
    client = Client(options.socket_path)
    executor = Executor(client, output, trace=options.trace)
    try:
        if options.command:
            return _run_once(executor, options.command)
        if sys.stdin.isatty():
            return run_interactive(
                executor, history_path=default_history_path(), exit_on_error=options.exit_on_error
            )
        return run_lines(executor, _input_lines(), exit_on_error=options.exit_on_error)
    except KeyboardInterrupt:
        output.error("\nExiting...\n")
        return INTERRUPTED_STATUS
    except BrokenPipeError:
        # The reader of our output went away (``warden ... | head -1``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return BROKEN_PIPE_STATUS
    finally:
        if client.connected:
            client.disconnect()
