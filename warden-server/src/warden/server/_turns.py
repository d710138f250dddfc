# -*- test-case-name: tests.unit.test_unit_turns -*-
"""At most a few request starts per reactor turn.

When a hundred clients send a create at once, their requests arrive in one
``epoll_wait`` and, started where they arrive, each runs up to its first
wait (validation, state, starting a script) in that one turn: a Ping on
another connection waits for all of them. Here the starts beyond
``per_turn`` in a turn wait for the next turns (``callLater(0)`` runs on the
next turn, before its poll), so a turn stays short and what arrives
meanwhile (a Ping answered on the spot) is seen sooner. Order is kept: a
start never overtakes one that waits. A start's own work is unchanged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from ._per_reactor import PerReactor

__all__ = ["PER_TURN", "TurnBudget", "budget_for"]

#: Request starts per reactor turn (a create's start is about a millisecond).
PER_TURN = 4


class TurnBudget:
    """Runs ``start`` callables, at most ``per_turn`` in each reactor turn."""

    def __init__(self, reactor: Any, per_turn: int = PER_TURN) -> None:
        self.reactor = reactor
        self.per_turn = per_turn
        self.used = 0
        self.waiting: deque[Callable[[], None]] = deque()
        self._armed = False

    def start(self, start: Callable[[], None]) -> None:
        """Run ``start`` now if this turn has room and nothing waits, else later."""
        self._arm()
        if self.used < self.per_turn and not self.waiting:
            self.used += 1
            start()
        else:
            self.waiting.append(start)

    def _arm(self) -> None:
        if not self._armed:
            self._armed = True
            self.reactor.callLater(0, self._next_turn)

    def _next_turn(self) -> None:
        self._armed = False
        self.used = 0
        if not self.waiting:
            return
        self._arm()  # the count restarts on the turn after this one
        while self.waiting and self.used < self.per_turn:
            self.used += 1
            self.waiting.popleft()()


#: The one budget of a reactor (every connection of a server shares it).
budget_for: PerReactor[TurnBudget] = PerReactor(TurnBudget)
