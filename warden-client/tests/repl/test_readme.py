"""The README's shell section stays true: its commands parse, its help lines are real."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from warden.client._repl._commands import COMMANDS
from warden.client._repl._help import command_help
from warden.client._repl._parse import Invocation, parse_command

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
SECTION = README[README.index("## The `warden` shell") :]


def test_example_commands_parse() -> None:
    commands = re.findall(r"^\$ warden -- (.*)$", SECTION, re.M)
    assert len(commands) >= 3
    for line in commands:
        assert isinstance(parse_command(shlex.split(line)), Invocation), line


def test_help_lines_shown_are_the_real_ones() -> None:
    shown = re.findall(r"```text\n(.*?)```", SECTION, re.S)
    lines = [line for block in shown for line in block.splitlines()]
    assert lines
    every_help = "\n".join(command_help(command) for command in COMMANDS.values())
    for line in lines:
        assert line + "\n" in every_help, line
