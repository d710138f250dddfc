# -*- test-case-name: tests.repl.test_history -*-
"""The shell's history file: a JSON array of lines, oldest first, as the original kept it."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from typing import Final

from prompt_toolkit.history import History

__all__ = ["DEFAULT_HISTORY_LIMIT", "JsonHistory", "default_history_path"]

#: Lines kept in the file; older ones are dropped when a new one is added.
DEFAULT_HISTORY_LIMIT: Final = 1000


def default_history_path() -> str:
    """``~/.warden-history``."""
    return os.path.join(os.path.expanduser("~"), ".warden-history")


class JsonHistory(History):
    """prompt_toolkit history kept in a JSON array file.

    The whole file is rewritten (through a temporary file and a rename) after
    every line, so a crash never leaves half a file. A file that is missing
    starts an empty history; one that is not a JSON array of strings is
    reported through ``warn`` and left alone until the next line replaces it.
    """

    def __init__(
        self,
        path: str,
        *,
        limit: int = DEFAULT_HISTORY_LIMIT,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.path = path
        self.limit = limit
        self._warn = warn
        self._lines: list[str] = self._read()

    def _read(self) -> list[str]:
        try:
            with open(self.path, encoding="utf-8", errors="surrogateescape") as file:
                loaded = json.load(file)
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as error:
            self._report(f"warden: ignoring history file {self.path}: {error}")
            return []
        if not isinstance(loaded, list) or not all(isinstance(x, str) for x in loaded):
            self._report(f"warden: ignoring history file {self.path}: not a JSON array of strings")
            return []
        return loaded[-self.limit :]

    def _report(self, message: str) -> None:
        if self._warn is not None:
            self._warn(message)

    @property
    def lines(self) -> list[str]:
        """The history, oldest first."""
        return list(self._lines)

    def load_history_strings(self) -> Iterable[str]:
        """Newest first, as prompt_toolkit wants them."""
        return list(reversed(self._lines))

    def store_string(self, string: str) -> None:
        """Add a line and rewrite the file."""
        self._lines.append(string)
        del self._lines[: -self.limit]
        self._write()

    def _write(self) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            fd, temporary = tempfile.mkstemp(prefix=".warden-history.", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as file:
                    json.dump(self._lines, file, ensure_ascii=False)
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError as error:
            self._report(f"warden: cannot write history file {self.path}: {error}")
