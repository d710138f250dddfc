# -*- test-case-name: tests.test_extensions -*-
"""The signals a client may send to a job (the Signal extension)."""

from __future__ import annotations

import signal
from typing import Final

from warden.protocol import SIGNAL_NAMES

from ._errors import WardenError

__all__ = ["ALLOWED_SIGNALS", "parse_signal"]

#: Name (without ``SIG``) -> number, in the order errors list them.
ALLOWED_SIGNALS: Final[dict[str, int]] = {
    name: int(signal.Signals["SIG" + name]) for name in SIGNAL_NAMES
}


def parse_signal(text: str) -> int:
    """``TERM``, ``SIGTERM``, ``term`` ... -> its number; WardenError listing the allowed."""
    name = text.strip().upper().removeprefix("SIG")
    number = ALLOWED_SIGNALS.get(name)
    if number is None:
        allowed = ", ".join(ALLOWED_SIGNALS)
        raise WardenError(f"unknown signal {text!r} (allowed: {allowed})")
    return int(number)
