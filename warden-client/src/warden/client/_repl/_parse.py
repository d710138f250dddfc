# -*- test-case-name: tests.repl.test_commands -*-
"""A command's words into what to do: show help, or send a request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from warden.protocol import Request

from ._commands import Command, lookup_command
from ._errors import CommandError
from ._flags import is_flag, missing_required_flags, populate
from ._words import UnbalancedQuoteError, shell_words

__all__ = ["CommandHelp", "GlobalHelp", "Invocation", "Parsed", "parse_command", "split_line"]


@dataclass(frozen=True)
class GlobalHelp:
    """``help`` or ``--help``: list the commands."""


@dataclass(frozen=True)
class CommandHelp:
    """``COMMAND --help`` (or ``help COMMAND``): describe one command's flags."""

    command: Command


@dataclass(frozen=True)
class Invocation:
    """A command with its request (or its form, see ``_tar_forms``) filled in from the flags."""

    command: Command
    request: Request


Parsed = GlobalHelp | CommandHelp | Invocation


def _is_help_flag(word: str) -> bool:
    return is_flag(word) and word.lower() == "--help"


def parse_command(words: Sequence[str]) -> Parsed:
    """Parse a command and its flags.

    Raises CommandError (or its FlagError) with the message to show the user.
    """
    if not words:
        raise CommandError("No command given.")
    name, arguments = words[0], words[1:]
    if name.lower() in ("help", "--help"):
        if arguments and not is_flag(arguments[0]):
            return CommandHelp(lookup_command(arguments[0]))
        return GlobalHelp()
    command = lookup_command(name)
    if any(_is_help_flag(word) for word in arguments):
        return CommandHelp(command)
    request = populate(command.flags_class(), arguments)
    missing = missing_required_flags(request)
    if missing:
        plural = "s" if len(missing) > 1 else ""
        names = ", ".join(f"'{flag}'" for flag in missing)
        raise CommandError(f"Missing required flag{plural}: {names}.")
    return Invocation(command, request)


def split_line(line: str) -> list[str]:
    """Split a typed line as a POSIX shell does; CommandError for bad quoting."""
    try:
        return shell_words(line)
    except UnbalancedQuoteError as error:
        raise CommandError(f"{error}: {line.strip()}") from None
