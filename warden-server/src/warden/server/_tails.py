# -*- test-case-name: tests.unit.test_unit_tails -*-
"""What destroys do after their answers, held until a burst's answers are out.

Destroy answers once the container's processes are dead and its veth gone;
its firewall, cgroups, disk layer and files go afterwards in the same
``destroy.sh``, which waits for its stdin's EOF first (``run_script``'s
``stdin_until``). In a burst of destroys those tails would take the CPU
from the parts of other destroys still before their answers, so a tail is
let go only once no destroy of this server is before its answer, or after
``HOLD_MAX`` seconds (a steady stream of destroys does not hold the tails,
and so the pools' subnets, ports and uids they return, for longer). Held,
a tail costs nothing; let go, it runs as before, at the scripts' priority:
lowering its priority instead would leave the kernel locks it takes (the
file system's journal in ``rm``, the cgroup and xtables locks) held by a
task that waits for a CPU, and whoever needs them with it.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import defer

from ._per_reactor import PerReactor

__all__ = ["HOLD_MAX", "TailGate", "gate_for"]

#: The longest a tail is held (s).
HOLD_MAX = 2.0


class TailGate:
    """Counts the destroys before their answers; holds the tails meanwhile."""

    def __init__(self, reactor: Any, hold_max: float = HOLD_MAX) -> None:
        self.reactor = reactor
        self.hold_max = hold_max
        #: Destroys started and not yet answered (nor failed).
        self.before_answer = 0
        #: Each held tail and the timer that lets it go at the latest.
        self._held: dict[defer.Deferred[None], Any] = {}

    def destroy_started(self) -> None:
        """A destroy begins: tails are held until it has answered."""
        self.before_answer += 1

    def destroy_answered(self, tail: defer.Deferred[None]) -> None:
        """A destroy answered (or failed before): ``tail`` fires when no other
        destroy is before its answer, at the latest after ``hold_max``;
        the held ones with it."""
        self.before_answer -= 1
        if self.before_answer > 0:
            timer = self.reactor.callLater(self.hold_max, self._held_too_long, tail)
            self._held[tail] = timer
            return
        held, self._held = self._held, {}
        for waiting, timer in held.items():
            timer.cancel()
            self._let_go(waiting)
        self._let_go(tail)

    @property
    def held(self) -> int:
        """Tails held now."""
        return len(self._held)

    def _held_too_long(self, tail: defer.Deferred[None]) -> None:
        # Forgotten here too: a steady stream of destroys may never let the
        # count fall to zero.
        del self._held[tail]
        self._let_go(tail)

    @staticmethod
    def _let_go(tail: defer.Deferred[None]) -> None:
        if not tail.called:
            tail.callback(None)


#: The one gate of a reactor (every container of a server shares it).
gate_for: PerReactor[TailGate] = PerReactor(TailGate)
