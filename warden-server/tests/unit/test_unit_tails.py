"""Destroys' tails held while a destroy is before its answer (``TailGate``)."""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.task import Clock

from warden.server._tails import HOLD_MAX, TailGate, gate_for


def test_a_lone_destroy_s_tail_goes_at_its_answer() -> None:
    gate = TailGate(Clock())
    tail: defer.Deferred[None] = defer.Deferred()
    gate.destroy_started()
    assert not tail.called
    gate.destroy_answered(tail)
    assert tail.called


def test_tails_wait_for_the_burst_s_last_answer() -> None:
    clock = Clock()
    gate = TailGate(clock)
    tails: list[defer.Deferred[None]] = [defer.Deferred() for _ in range(3)]
    for _ in tails:
        gate.destroy_started()
    gate.destroy_answered(tails[0])
    gate.destroy_answered(tails[1])
    assert not tails[0].called and not tails[1].called
    gate.destroy_answered(tails[2])  # a failed destroy counts as answered too
    assert all(tail.called for tail in tails)
    assert clock.getDelayedCalls() == []  # the bounds' timers cancelled


def test_a_tail_is_held_at_most_hold_max() -> None:
    clock = Clock()
    gate = TailGate(clock)
    held: defer.Deferred[None] = defer.Deferred()
    gate.destroy_started()
    gate.destroy_started()  # this one never answers (a stream of destroys)
    fired: list[None] = []
    held.addCallback(fired.append)
    gate.destroy_answered(held)
    clock.advance(HOLD_MAX - 0.1)
    assert fired == []
    clock.advance(0.1)
    assert fired == [None]
    # The next answer lets nothing fire twice.
    last: defer.Deferred[None] = defer.Deferred()
    gate.destroy_answered(last)
    assert last.called and gate.before_answer == 0


def test_one_gate_per_reactor() -> None:
    clock, other = Clock(), Clock()
    assert gate_for(clock) is gate_for(clock)
    assert gate_for(clock) is not gate_for(other)
