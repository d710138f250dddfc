# -*- test-case-name: tests.repl.test_commands -*-
"""A typed line into words, as a POSIX shell splits it (the original's REPL
used shell word splitting).

Unlike ``shlex.split``, a backslash inside double quotes escapes only what it
escapes in a shell (``$``, a backquote, ``"``, a backslash, a newline) and is
otherwise kept: ``"echo \\$HOME"`` is the word ``echo $HOME``. Nothing is
expanded: ``$HOME`` stays as typed, for the container's shell to expand.
"""

from __future__ import annotations

__all__ = ["UnbalancedQuoteError", "shell_words"]

#: What a backslash escapes inside double quotes.
_ESCAPED_IN_DOUBLE_QUOTES = frozenset('$`"\\\n')


class UnbalancedQuoteError(ValueError):
    """A quote is not closed, or the line ends with a lone backslash."""


def shell_words(line: str) -> list[str]:
    """The words of ``line``, quotes removed; raises UnbalancedQuoteError."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    i, end = 0, len(line)
    while i < end:
        char = line[i]
        if char.isspace():
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            i += 1
            continue
        in_word = True
        if char == "\\":
            if i + 1 == end:
                raise UnbalancedQuoteError("No escaped character")
            if line[i + 1] != "\n":  # backslash-newline joins lines
                word.append(line[i + 1])
            i += 2
        elif char == "'":
            close = line.find("'", i + 1)
            if close < 0:
                raise UnbalancedQuoteError("No closing quotation")
            word.append(line[i + 1 : close])
            i = close + 1
        elif char == '"':
            i = _double_quoted(line, i + 1, word)
        else:
            word.append(char)
            i += 1
    if in_word:
        words.append("".join(word))
    return words


def _double_quoted(line: str, i: int, word: list[str]) -> int:
    """Append the inside of a double-quoted part starting at ``i``; the index after it."""
    while i < len(line):
        char = line[i]
        if char == '"':
            return i + 1
        if char == "\\" and i + 1 < len(line) and line[i + 1] in _ESCAPED_IN_DOUBLE_QUOTES:
            if line[i + 1] != "\n":
                word.append(line[i + 1])
            i += 2
            continue
        word.append(char)
        i += 1
    raise UnbalancedQuoteError("No closing quotation")
