# -*- test-case-name: tests.test_spawn -*-
"""What a request does after its answer, lowered below everything else.

Destroy answers once the container's processes are dead and its veth gone;
its firewall, cgroups, disk layer and files go afterwards in the same
``destroy.sh``. In a burst of destroys those tails would take the CPU from
the parts of other destroys still before their answers (and from creates),
so once a tail's script says where it stands (its pids on the ``torn-down``
line) the server puts them under ``SCHED_IDLE``, and what they start
inherits it. Nothing depends on the tails' speed but the pools: a
container's subnet, ports and uid come back at its destroy's end.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable

__all__ = ["lower_to_idle", "pids_on_line"]


def pids_on_line(output: bytes | bytearray, word: bytes) -> list[int] | None:
    """The pids after ``word`` on its line of ``output``: None until that line
    has ended; empty when it names none."""
    start = output.find(word)
    if start < 0:
        return None
    end = output.find(b"\n", start)
    if end < 0:
        return None
    return [int(w) for w in bytes(output[start + len(word) : end]).split() if w.isdigit()]


def lower_to_idle(pids: Iterable[int]) -> None:
    """Each of ``pids`` (processes, not groups) to ``SCHED_IDLE``, else
    niceness 19 where the kernel has no ``SCHED_IDLE``; one that is gone or
    not ours is left alone (best effort: only a priority)."""
    for pid in pids:
        if pid <= 1:
            continue
        with contextlib.suppress(OSError):
            try:
                os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
            except OSError as error:
                if isinstance(error, ProcessLookupError):
                    continue
                os.setpriority(os.PRIO_PROCESS, pid, 19)
