"""Blocking system calls the reactor should not wait for, run on its thread pool.

Writing a cgroup's control files takes the kernel's cgroup lock, which a burst
of creates and destroys (mkdir, rmdir, moving processes) holds for tens of
milliseconds at a time: on the reactor, every client would wait with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from twisted.internet import defer, threads

__all__ = ["off_reactor"]

T = TypeVar("T")


def off_reactor(reactor: Any, work: Callable[[], T]) -> defer.Deferred[T]:
    """``work()`` on one of ``reactor``'s threads; its result or error in the Deferred.

    A reactor without threads (a test's) runs it at once, in place.
    """
    get_pool = getattr(reactor, "getThreadPool", None)
    if get_pool is None:
        return defer.maybeDeferred(work)
    return threads.deferToThreadPool(reactor, get_pool(), work)
