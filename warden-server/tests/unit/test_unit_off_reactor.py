"""``off_reactor``: blocking work on the reactor's thread pool, its outcome back on the reactor."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from twisted.python.threadpool import ThreadPool

from warden.server._off_reactor import off_reactor

from ._fakes import result_of


class ThreadedReactor:
    """The two things ``deferToThreadPool`` asks of a reactor, with a real pool:
    results come back through ``callFromThread``, which the test runs on its own thread."""

    def __init__(self, pool: ThreadPool) -> None:
        self.pool = pool
        self.delivered: list[Callable[[], Any]] = []
        self.arrived = threading.Event()

    def getThreadPool(self) -> ThreadPool:
        return self.pool

    def callFromThread(self, f: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.delivered.append(lambda: f(*args, **kwargs))
        self.arrived.set()

    def deliver(self) -> None:
        assert self.arrived.wait(10), "the pool never answered"
        for call in self.delivered:
            call()


@pytest.fixture
def reactor() -> Iterator[ThreadedReactor]:
    pool = ThreadPool(minthreads=1, maxthreads=1)
    pool.start()
    yield ThreadedReactor(pool)
    pool.stop()


def test_the_work_runs_on_a_pool_thread_and_its_result_comes_back(
    reactor: ThreadedReactor,
) -> None:
    done = off_reactor(reactor, threading.get_ident)
    assert not done.called  # nothing reaches the Deferred but through the reactor
    reactor.deliver()
    assert result_of(done) != threading.get_ident()


def test_an_error_of_the_work_fails_the_deferred(reactor: ThreadedReactor) -> None:
    def fails() -> None:
        raise OSError(16, "Device or resource busy")

    done = off_reactor(reactor, fails)
    reactor.deliver()
    with pytest.raises(OSError, match="resource busy"):
        result_of(done)


def test_a_reactor_without_threads_runs_it_in_place() -> None:
    done = off_reactor(object(), threading.get_ident)
    assert result_of(done) == threading.get_ident()
