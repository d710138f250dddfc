"""What the shell reports for bad input.

::

    CommandError      a command line the shell cannot turn into a request
    └── FlagError     one ``--flag`` that is malformed, unknown or lacks its value
    UsageError        bad options before ``--`` (``--socket`` without a path ...)
"""

from __future__ import annotations

__all__ = ["CommandError", "FlagError", "UsageError"]


class CommandError(Exception):
    """A command line that cannot become a request; the message says why."""


class FlagError(CommandError):
    """A flag that is malformed, names no field, or is missing its value."""


class UsageError(Exception):
    """Bad options for the ``warden`` tool itself."""
