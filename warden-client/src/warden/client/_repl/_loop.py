# -*- test-case-name: tests.repl.test_lines,tests.repl.test_interactive -*-
"""The read-execute loops: the interactive prompt, and lines read from a pipe.

Both report a failed command on stderr and go on with the next one, unless
``exit_on_error`` is set: then the first failure ends the loop with status 1,
and the first command whose exit status is not 0 (``run``, ``link``) ends it
with that status. Otherwise the loop ends with status 0 at end of input.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from prompt_toolkit import PromptSession
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output as PromptOutput

from warden.client import ClientError
from warden.protocol import ProtocolError

from ._completion import WardenCompleter
from ._errors import CommandError
from ._execute import Executor
from ._handles import LiveHandles
from ._history import JsonHistory
from ._parse import split_line

__all__ = ["PROMPT", "Step", "execute_line", "run_interactive", "run_lines"]

PROMPT: Final = "warden> "


@dataclass(frozen=True)
class Step:
    """What one line did: whether it failed, and its exit status if it had one."""

    failed: bool = False
    status: int | None = None


def execute_line(executor: Executor, line: str) -> Step:
    """Run one line of input, reporting any error on stderr."""
    line = line.strip()
    if not line:
        return Step()
    try:
        return Step(status=executor.execute(split_line(line)))
    except (CommandError, ClientError, ProtocolError) as error:
        executor.output.error(f"{error}\n")
    return Step(failed=True)


def _execute_interruptible(executor: Executor, line: str) -> Step:
    """``execute_line``; Ctrl-C while the command runs abandons only that command.

    The connection, which may still carry the rest of the answer, is dropped;
    the next command opens a new one.
    """
    try:
        return execute_line(executor, line)
    except KeyboardInterrupt:
        executor.drop_connection()
        executor.output.error("\nInterrupted.\n")
        return Step(failed=True)


def _stop_status(step: Step, exit_on_error: bool) -> int | None:
    """The loop's exit status if this step ends it, else None."""
    if not exit_on_error:
        return None
    if step.failed:
        return 1
    if step.status:
        return step.status
    return None


def run_lines(executor: Executor, lines: Iterable[str], *, exit_on_error: bool = False) -> int:
    """Run commands from lines of text (standard input that is not a terminal)."""
    for line in lines:
        status = _stop_status(execute_line(executor, line), exit_on_error)
        if status is not None:
            return status
    return 0


def run_interactive(
    executor: Executor,
    *,
    history_path: str,
    exit_on_error: bool = False,
    prompt_input: Input | None = None,
    prompt_output: PromptOutput | None = None,
) -> int:
    """The ``warden>`` prompt, until Ctrl-D (or a failure with ``exit_on_error``).

    Tab completes command names, flags and live handles; lines are kept in ``history_path``;
    Ctrl-C abandons the line being typed, or the command running.
    """
    history = JsonHistory(history_path, warn=lambda text: executor.output.error(text + "\n"))
    session: PromptSession[str] = PromptSession(
        PROMPT,
        history=history,
        completer=WardenCompleter(LiveHandles(executor.list_handles)),
        complete_while_typing=False,
        input=prompt_input,
        output=prompt_output,
    )
    while True:
        try:
            line = session.prompt()
        except KeyboardInterrupt:
            continue
        except EOFError:
            return 0
        status = _stop_status(_execute_interruptible(executor, line), exit_on_error)
        if status is not None:
            return status
