# -*- test-case-name: tests.test_warm_pool,tests.unit.test_unit_warm_pool -*-
"""The warm pool (``server.container_pool_size``): containers made in advance.

A Create that a pooled container can satisfy (no bind mounts, no network
asked for, the configured rootfs) takes one: it is given the requested (or
its own id as) handle, grace time and properties, registered, and answered
in the same reactor turn, without a script. The pool then refills in the background, one
create at a time, and never while a client's own create is under way.

An idle pooled container is a real, started container (state ``active``)
whose ``pooled`` flag is set: it is in no registry (List, bulk operations and
requests naming its id do not see it), it has no grace timer, and its
snapshot says ``"pooled": true``, so a restart recovers it into the pool
again, not among the named containers. Nothing of a container on the host is
named by its handle (directories, cgroups, interfaces and firewall chains go
by its id), so taking one changes nothing there.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from warden.protocol import CreateRequest, DestroyRequest

from ._errors import WardenError
from ._logging import debug_enabled
from .container.base import Container, State

__all__ = ["REFILL_DELAY", "REFILL_RETRY", "WarmPool"]

#: Seconds before a refill that failed (say, the network pool is empty) is
#: tried again, unless a take starts one sooner.
REFILL_RETRY = 5.0

#: Seconds without a take before a refill starts: a burst of takes is not
#: slowed by a refill's scripts starting in between (the answers go first).
REFILL_DELAY = 0.05

#: Pooled containers destroyed at once at shutdown (each is a few scripts).
SHUTDOWN_CONCURRENCY = 8


class WarmPool:
    """``size`` idle containers made by ``make`` (a new, unmade container)."""

    log = Logger(namespace="warden.server.pool")

    def __init__(
        self,
        *,
        size: int,
        make: Callable[[], Container],
        reactor: Any,
        rootfs_path: str,
    ) -> None:
        self.size = size
        self._make = make
        self._reactor = reactor
        self._rootfs = os.path.normpath(rootfs_path)
        self.idle: deque[Container] = deque()
        #: Client creates on the normal path under way: refills wait for none.
        self._client_creates = 0
        self._clients_done: defer.Deferred[None] | None = None
        #: Whether the refill loop (one at most) is under way, and its end.
        self._refill_running = False
        self._refilled: defer.Deferred[None] | None = None
        self._retry: Any = None
        self._kick: Any = None
        self._closed = False

    # -- what the server asks --

    def eligible(self, request: CreateRequest) -> bool:
        """Whether a pooled container satisfies ``request`` (handle, grace
        time and properties are applied when taken; the rest must be the
        defaults)."""
        if self.size == 0 or request.bind_mounts or request.HasField("network"):
            return False
        return not request.HasField("rootfs") or os.path.normpath(request.rootfs) == self._rootfs

    def take(self, request: CreateRequest) -> Container | None:
        """A pooled container made into the one ``request`` asks for, or None
        (the request takes the normal path). A handle already in use raises
        the normal path's WardenError."""
        if not self.eligible(request):
            return None
        # Later: the answer goes out before a refill's scripts start, and a
        # burst of takes is served before any does.
        if self._kick is not None and self._kick.active():
            self._kick.reset(REFILL_DELAY)
        else:
            self._kick = self._reactor.callLater(REFILL_DELAY, self.refill)
        while self.idle:
            container = self.idle.popleft()
            if container.state is not State.ACTIVE or container.being_destroyed:
                # Its init died while it waited: not for a client.
                self._destroy_later(container)
                continue
            try:
                container.take_from_pool(
                    request.handle if request.HasField("handle") else None,
                    request.grace_time if request.HasField("grace_time") else None,
                    {p.key: p.value for p in request.properties},
                )
            except WardenError:
                if request.HasField("handle"):  # in use: the normal path's error
                    self.idle.appendleft(container)
                    raise
                # A client named a container after this one's id: it cannot be handed out.
                self._destroy_later(container)
                continue
            except OSError as error:
                self.idle.appendleft(container)
                self.log.error("cannot take a pooled container: {e}", e=error)
                return None
            if debug_enabled():  # an event costs even when filtered out
                self.log.debug(
                    "created from the pool", handle=container.handle, id=container.container_id
                )
            return container
        return None

    def adopt(self, container: Container) -> bool:
        """Recovery: keep a pooled container found at start; False when the
        pool is full already (the caller destroys it)."""
        if len(self.idle) >= self.size:
            return False
        container.pooled = True
        self.idle.append(container)
        return True

    @contextlib.contextmanager
    def client_create(self) -> Iterator[None]:
        """Around a client's create on the normal path: no refill starts meanwhile."""
        self._client_creates += 1
        try:
            yield
        finally:
            self._client_creates -= 1
            if self._client_creates == 0 and self._clients_done is not None:
                done, self._clients_done = self._clients_done, None
                done.callback(None)

    # -- refilling --

    def refill(self) -> None:
        """Start refilling unless full, closed or refilling already."""
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        if self._closed or self._refill_running or len(self.idle) >= self.size:
            return
        self._refill_running = True
        loop = defer.ensureDeferred(self._refill_loop())
        self._refilled = None if loop.called else loop

    def _wanted(self) -> bool:
        return not self._closed and len(self.idle) < self.size

    async def _refill_loop(self) -> None:
        try:
            while self._wanted():
                if self._client_creates:  # yield to clients' creates
                    if self._clients_done is None:
                        self._clients_done = defer.Deferred()
                    await self._clients_done
                    continue
                container = self._make()
                container.pooled = True
                try:
                    await container.dispatch(CreateRequest())
                except Exception as error:  # the create cleaned up after itself
                    self.log.error(
                        "pool refill failed, trying again in {s}s: {e}", s=REFILL_RETRY, e=error
                    )
                    self._retry = self._reactor.callLater(REFILL_RETRY, self.refill)
                    break
                # Kept even when closing meanwhile: ``close`` decides its fate.
                self.idle.append(container)
        finally:
            self._refill_running = False
            self._refilled = None

    # -- shutdown --

    async def close(self, destroy: bool) -> None:
        """Refill no more, wait for the create under way; with ``destroy``,
        destroy every idle container (else their snapshots keep them pooled
        for the next start)."""
        self._closed = True
        for call in (self._retry, self._kick):
            if call is not None and call.active():
                call.cancel()
        if self._clients_done is not None:
            done, self._clients_done = self._clients_done, None
            done.callback(None)
        if self._refilled is not None:
            await self._refilled
        if not destroy:
            return
        idle = list(self.idle)
        self.idle.clear()
        if idle:
            self.log.info("destroying {n} pooled containers", n=len(idle))
            limit = defer.DeferredSemaphore(SHUTDOWN_CONCURRENCY)
            await defer.DeferredList(
                [limit.run(self._destroy, container) for container in idle],
                consumeErrors=True,
            )

    def _destroy_later(self, container: Container) -> None:
        defer.ensureDeferred(self._destroy(container))

    async def _destroy(self, container: Container) -> None:
        try:
            await container.dispatch(DestroyRequest(handle=container.handle))
        except Exception as error:
            self.log.error(
                "destroying pooled container {id} failed: {e}", id=container.container_id, e=error
            )
