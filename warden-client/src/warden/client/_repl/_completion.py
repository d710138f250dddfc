# -*- test-case-name: tests.repl.test_completion -*-
"""Tab completion: command names, then the command's flags and enum values,
and the live handles after ``--handle`` (a List, kept for 2 s: ``_handles.py``).

Flags are offered as whole paths (``--rlimits.nofile``,
``--bind_mounts[0].src_path``). A repeated field is offered at the index last
used on the line (to fill more of that element) and at the next one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from warden.protocol import SIGNAL_NAMES, field_type_text

from ._commands import COMMANDS, Command, field_description
from ._errors import FlagError
from ._flags import DELIMITER, parse_flag
from ._words import UnbalancedQuoteError, shell_words

__all__ = ["WardenCompleter", "flag_paths"]

_HELP_WORDS = ("help", "--help")


def _indices(path: str, words: Sequence[str]) -> list[int]:
    """Indices worth offering for the repeated field at ``path``."""
    pattern = re.compile(re.escape(path) + r"\[(\d+)\]")
    used = [int(m.group(1)) for word in words for m in pattern.finditer(word)]
    if not used:
        return [0]
    return [max(used), max(used) + 1]


def flag_paths(
    descriptor: Descriptor, words: Sequence[str] = (), prefix: str = "--"
) -> Iterator[tuple[str, FieldDescriptor]]:
    """Every settable flag of a message as (flag, leaf field), in schema order."""
    for field in descriptor.fields:
        path = prefix + field.name
        heads = [f"{path}[{i}]" for i in _indices(path, words)] if field.is_repeated else [path]
        for head in heads:
            if field.message_type is not None:
                yield from flag_paths(field.message_type, words, head + DELIMITER)
            else:
                yield head, field


def _leaf_field(command: Command, flag: str) -> FieldDescriptor | None:
    """The scalar field a complete flag names, if it names one."""
    try:
        elements = parse_flag(flag)
    except FlagError:
        return None
    descriptor: Descriptor | None = command.descriptor
    field = None
    for element in elements:
        if descriptor is None:
            return None
        field = descriptor.fields_by_name.get(element.name)
        if field is None:
            return None
        descriptor = field.message_type
    return None if field is None or field.message_type is not None else field


class WardenCompleter(Completer):
    """Completes the shell's command lines; ``handles`` gives the live
    handles that a ``--handle`` value completes to (none without it)."""

    def __init__(self, handles: Callable[[], Sequence[str]] | None = None) -> None:
        self._handles = handles

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        """Candidates for the word before the cursor."""
        before = document.text_before_cursor
        try:
            words = shell_words(before)
        except UnbalancedQuoteError:
            return  # inside an open quote: a value is being typed
        current = "" if not words or before[-1:].isspace() else words.pop()
        if not words:
            yield from self._names(current, with_help=True)
            return
        name = words[0].lower()
        if name in _HELP_WORDS:
            if len(words) == 1:
                yield from self._names(current, with_help=False)
            return
        command = COMMANDS.get(name)
        if command is None:
            return
        previous = _leaf_field(command, words[-1]) if len(words) > 1 else None
        if previous is not None and previous.type != FieldDescriptor.TYPE_BOOL:
            # The flag's value comes next.
            if previous.name in ("handle", "handles") and self._handles is not None:
                yield from self._handle_values(self._handles(), current)
            yield from self._values(previous, current)
            return
        yield from self._flags(command, words, current)

    @staticmethod
    def _names(current: str, *, with_help: bool) -> Iterator[Completion]:
        names = list(COMMANDS) + (["help"] if with_help else [])
        for name in names:
            if name.startswith(current.lower()):
                meta = COMMANDS[name].description if name in COMMANDS else ""
                yield Completion(name, -len(current), display_meta=meta)

    @staticmethod
    def _handle_values(handles: Sequence[str], current: str) -> Iterator[Completion]:
        for handle in handles:
            if handle.startswith(current):
                yield Completion(handle, -len(current), display_meta="live container")

    @staticmethod
    def _values(field: FieldDescriptor, current: str) -> Iterator[Completion]:
        if field.full_name == "warden.SignalRequest.signal":
            for name in SIGNAL_NAMES:
                if name.lower().startswith(current.lower()):
                    yield Completion(name, -len(current))
            return
        if field.enum_type is None:
            return
        for value in field.enum_type.values:
            if value.name.lower().startswith(current.lower()):
                yield Completion(value.name, -len(current))

    @staticmethod
    def _flags(command: Command, words: Sequence[str], current: str) -> Iterator[Completion]:
        for flag, field in flag_paths(command.descriptor, words):
            if flag.startswith(current):
                meta = field_type_text(field)
                description = field_description(field)
                if description:
                    meta = f"{meta}: {description}"
                yield Completion(flag, -len(current), display_meta=meta)
        if "--help".startswith(current):
            yield Completion("--help", -len(current), display_meta="show this command's flags")
