"""One object per reactor (``PerReactor``)."""

from __future__ import annotations

from twisted.internet.task import Clock

from warden.server._per_reactor import PerReactor


class Made:
    def __init__(self, reactor: Clock) -> None:
        self.reactor = reactor


def test_one_object_per_reactor_made_when_first_asked_for() -> None:
    made: list[Clock] = []

    def make(reactor: Clock) -> Made:
        made.append(reactor)
        return Made(reactor)

    per_reactor = PerReactor(make)
    first, second = Clock(), Clock()
    assert made == []
    assert per_reactor(first) is per_reactor(first)
    assert per_reactor(first).reactor is first
    assert per_reactor(second) is not per_reactor(first)
    assert made == [first, second]
