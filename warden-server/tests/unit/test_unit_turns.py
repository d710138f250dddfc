"""At most a few request starts per reactor turn (``TurnBudget``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.testing import StringTransport

from warden.protocol import CreateRequest, CreateResponse, PingResponse, request_to_wire
from warden.protocol import PingRequest as Ping
from warden.server._protocol import WardenConnection
from warden.server._turns import PER_TURN, TurnBudget, budget_for

from ._fakes import responses
from .test_unit_connection import Owner


class Turns:
    """A reactor's ``callLater(0)`` as the real one runs it: what is scheduled
    during a turn runs on the next one (``twisted.internet.task.Clock`` runs
    it in the same ``advance``)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def callLater(self, delay: float, f: Callable[..., Any], *args: Any) -> None:
        assert delay == 0
        self.calls.append((f, args))

    def turn(self) -> None:
        calls, self.calls = self.calls, []
        for f, args in calls:
            f(*args)


def test_starts_beyond_the_budget_wait_for_later_turns_in_order() -> None:
    clock = Turns()
    budget = TurnBudget(clock, per_turn=2)
    started: list[int] = []
    for n in range(5):
        budget.start(lambda n=n: started.append(n))
    assert started == [0, 1]
    clock.turn()
    assert started == [0, 1, 2, 3]
    budget.start(lambda: started.append(5))  # this turn is full: after 4
    assert started == [0, 1, 2, 3]
    clock.turn()
    assert started == [0, 1, 2, 3, 4, 5]


def test_a_start_never_overtakes_one_that_waits() -> None:
    clock = Turns()
    budget = TurnBudget(clock, per_turn=1)
    started: list[str] = []
    budget.start(lambda: started.append("a"))
    budget.start(lambda: started.append("b"))
    clock.turn()  # b starts; this turn is full again
    budget.start(lambda: started.append("c"))
    assert started == ["a", "b"]
    clock.turn()
    assert started == ["a", "b", "c"]


def test_an_idle_budget_leaves_no_call_behind() -> None:
    clock = Turns()
    budget = TurnBudget(clock, per_turn=1)
    budget.start(lambda: None)
    budget.start(lambda: None)
    for _ in range(3):
        clock.turn()
    assert clock.calls == [] and budget.used == 0 and not budget.waiting


def test_a_burst_of_creates_starts_a_few_per_turn_and_a_ping_is_answered_at_once() -> None:
    owner = Owner()
    turns = Turns()
    owner.reactor = turns  # type: ignore[assignment]
    assert budget_for(owner.reactor) is budget_for(owner.reactor)
    connections = []
    for _ in range(PER_TURN * 2 + 1):
        connection = WardenConnection(owner)
        connection.makeConnection(StringTransport())
        connection.dataReceived(request_to_wire(CreateRequest()))
        connections.append(connection)
    assert len(owner.handled) == PER_TURN
    pinger = StringTransport()
    ping = WardenConnection(owner)
    ping.makeConnection(pinger)
    ping.dataReceived(request_to_wire(Ping()))
    assert responses(pinger.value()) == [PingResponse()]
    turns.turn()
    assert len(owner.handled) == PER_TURN * 2
    turns.turn()
    assert len(owner.handled) == PER_TURN * 2 + 1
    for _ in connections:
        owner.answer(CreateResponse(handle="x"))
    assert all(responses(c.transport.value()) == [CreateResponse(handle="x")]  # type: ignore[union-attr]
               for c in connections)  # fmt: skip
