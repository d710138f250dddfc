# -*- test-case-name: tests.repl.test_commands -*-
"""Help texts: the command list and one command's flags, laid out as the original.

``COMMAND --help``::

    command: echo
    description: Send a message and print the server's copy of it.
    usage: echo [options]

    [options] can be one of the following:

    \t--message <message> (string)  # required: the message

Flags are grouped required, repeated, optional, each group in schema order; a
nested message lists its fields one tab deeper, written ``.field``.
"""

from __future__ import annotations

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from warden.protocol import field_type_text

from ._commands import COMMANDS, Command, field_description
from ._flags import DELIMITER

__all__ = ["command_help", "global_help"]

_HELP_DESCRIPTION = "Show this list; COMMAND --help shows a command's flags."


def global_help(width: int = 0) -> str:
    """The command list, one ``\\tNAME  DESCRIPTION`` line each, then ``help``.

    ``width`` is the column of the descriptions; 0 means the longest name + 2.
    """
    if width <= 0:
        width = max(len(name) for name in COMMANDS) + 2
    lines = [""]
    lines += [f"\t{name:<{width}}{c.description}" for name, c in COMMANDS.items()]
    lines.append(f"\t{'help':<{width}}{_HELP_DESCRIPTION}")
    lines += ["", "Use --help after a command (or help COMMAND) to see its flags.", ""]
    return "\n".join(lines)


def command_help(command: Command) -> str:
    """A command's name, description and flags."""
    text = f"command: {command.name}\ndescription: {command.description}\n"
    options = _describe_fields(command.descriptor, 1)
    if options:
        text += f"usage: {command.name} [options]\n\n"
        text += "[options] can be one of the following:\n\n"
        text += options
    return text


def _group(field: FieldDescriptor) -> int:
    if field.is_required:
        return 0
    return 1 if field.is_repeated else 2


def _describe_fields(descriptor: Descriptor, level: int) -> str:
    prefix = "--" if level == 1 else DELIMITER
    text = ""
    for field in sorted(descriptor.fields, key=_group):  # stable: schema order kept
        text += "\t" * level + _option_line(field, prefix) + "\n"
        if field.message_type is not None:
            text += _describe_fields(field.message_type, level + 1)
    return text


def _option_line(field: FieldDescriptor, prefix: str) -> str:
    flag = prefix + field.name
    if field.is_repeated:
        flag += "[index]"
    if field.type not in (FieldDescriptor.TYPE_BOOL, FieldDescriptor.TYPE_MESSAGE):
        type_text = field_type_text(field)  # enums come in parentheses already
        if not type_text.startswith("("):
            type_text = f"({type_text})"
        flag += f" <{field.name}> {type_text}"
    if field.is_required:
        rule = "required"
    elif field.is_repeated:
        rule = "array"
    else:
        flag = f"[{flag}]"
        rule = "optional"
    description = field_description(field)
    return f"{flag}  # {rule}: {description}" if description else f"{flag}  # {rule}"
