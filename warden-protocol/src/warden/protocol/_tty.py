"""Terminal sizes: the ``(rows, columns)`` form the clients accept for ``TTY``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._messages import TTY

__all__ = ["tty_size"]


def tty_size(
    value: TTY | tuple[int, int] | Mapping[str, Any] | None,
) -> TTY | Mapping[str, Any] | None:
    """A ``TTY`` for ``(rows, columns)``; a TTY, a mapping or None as given."""
    if isinstance(value, tuple):
        rows, columns = value
        return TTY(rows=rows, columns=columns)
    return value
