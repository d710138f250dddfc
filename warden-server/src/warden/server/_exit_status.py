"""A job's exit status as clients see it.

The job's keeper records -N when signal N ended a job, and the exit code otherwise.
The original's clients never saw that: its helper wrote no status for a job
that a signal ended, and Link, Stream and Run answered 255, "no exit
status". This module is the one place where that mapping is made; the
signal's name goes to the server's log instead.
"""

from __future__ import annotations

import signal

__all__ = ["NO_EXIT_STATUS", "client_exit_status", "ending_signal", "signal_name"]

#: What a client gets for a job that has no exit status of its own.
NO_EXIT_STATUS = 255


def ending_signal(status: int) -> signal.Signals | int | None:
    """The signal a recorded status says ended the job (-N), else None (an exit code)."""
    number = -status
    if not 0 < number < signal.NSIG:
        return None
    try:
        return signal.Signals(number)
    except ValueError:  # a real-time signal has no name of its own
        return number


def client_exit_status(status: int) -> int:
    """The status to answer for a recorded one: 255 for a job a signal ended."""
    return NO_EXIT_STATUS if ending_signal(status) is not None else status


def signal_name(status: int) -> str | None:
    """``SIGKILL`` for -9, ``signal 40`` for a real-time one, None for an exit."""
    ended_by = ending_signal(status)
    if ended_by is None:
        return None
    if isinstance(ended_by, signal.Signals):
        return ended_by.name
    return f"signal {ended_by}"
