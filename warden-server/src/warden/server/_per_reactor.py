# -*- test-case-name: tests.unit.test_unit_per_reactor -*-
"""One object per reactor, shared by everything of the server running on it.

``PerReactor(make)`` is called with a reactor and gives the object
``make(reactor)`` made for it the first time, the same one afterwards. Kept
for good: a server runs on one reactor, and the objects made hold theirs
(weak keys would not let one go either).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["PerReactor"]

T = TypeVar("T")


class PerReactor(Generic[T]):
    """``make(reactor)``, made once per reactor."""

    def __init__(self, make: Callable[[Any], T]) -> None:
        self._make = make
        self._made: dict[Any, T] = {}

    def __call__(self, reactor: Any) -> T:
        """The reactor's object, made now if it has none."""
        made = self._made.get(reactor)
        if made is None:
            made = self._made[reactor] = self._make(reactor)
        return made
