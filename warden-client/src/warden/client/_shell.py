# -*- test-case-name: tests.test_shell_extra -*-
"""The ``warden`` console script: the shell if its extra is installed, else how to get it.

The shell (``warden.client._repl``) needs prompt_toolkit, which only the
``repl`` extra brings, so that programs using just the client do not install
it. Without it, ``warden`` says which install brings the shell instead of
ending in a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Final

__all__ = ["MISSING_REPL_MESSAGE", "main"]

#: What ``warden`` prints when the shell's dependency is missing.
MISSING_REPL_MESSAGE: Final = (
    "warden: the warden shell needs prompt_toolkit, which this installation lacks.\n"
    "Install the shell with: pip install 'warden-client[repl]'\n"
)
#: Exit status when the shell cannot start for a missing dependency.
MISSING_REPL_STATUS: Final = 1


def main(arguments: Sequence[str] | None = None) -> int:
    """Run the ``warden`` shell; without the ``repl`` extra, say how to install it."""
    try:
        from ._repl import main as repl_main  # deferred: it needs the optional prompt_toolkit
    except ModuleNotFoundError as error:
        if error.name is None or error.name.partition(".")[0] != "prompt_toolkit":
            raise
        sys.stderr.write(MISSING_REPL_MESSAGE)
        return MISSING_REPL_STATUS
    return repl_main(arguments)


if __name__ == "__main__":
    sys.exit(main())
