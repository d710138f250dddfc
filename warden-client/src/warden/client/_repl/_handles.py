# -*- test-case-name: tests.repl.test_completion -*-
"""The live handles that ``--handle <Tab>`` offers: a List request, kept briefly.

Completion must never get in the way: a List that fails (no server, a
broken connection) offers nothing and prints nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from warden.client import ClientError
from warden.protocol import ProtocolError

__all__ = ["HANDLES_KEPT_FOR", "LiveHandles"]

#: Seconds a List answer is reused: Tab pressed again and again sends one List.
HANDLES_KEPT_FOR = 2.0


class LiveHandles:
    """Calls ``list_handles`` at most once per ``kept_for`` seconds."""

    def __init__(
        self,
        list_handles: Callable[[], Sequence[str]],
        *,
        kept_for: float = HANDLES_KEPT_FOR,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._list_handles = list_handles
        self._kept_for = kept_for
        self._clock = clock
        self._handles: list[str] = []
        self._fetched_at: float | None = None

    def __call__(self) -> list[str]:
        """The handles, from the last List if it is recent enough."""
        now = self._clock()
        if self._fetched_at is None or now - self._fetched_at >= self._kept_for:
            self._fetched_at = now
            try:
                self._handles = sorted(self._list_handles())
            except (ClientError, ProtocolError, OSError):
                self._handles = []
        return list(self._handles)
