"""What a container works with: the server's collaborators, passed in, not global.

``ContainerContext`` is built once by the server (the composition root) and
handed to every container. ``Registry`` maps handles to live containers.
``Peer`` is what a container knows of a client connection.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from google.protobuf.message import Message
from twisted.internet import defer

from .._config import Config
from .._errors import WardenError
from .._job_ids import JobIdCounter
from .._jobs import JobServices
from .._pools import NetworkPool, PortPool, UidPool
from .._scripts import DEFAULT_MAX_OUTPUT, ScriptResult, run_script

__all__ = [
    "UNKNOWN_HANDLE",
    "ContainerContext",
    "ContainerIds",
    "Named",
    "Peer",
    "Registry",
    "ScriptRunner",
]

#: The original's answer for a handle that names no container.
UNKNOWN_HANDLE = "unknown handle"

#: The depot's entry for destroyed containers' directories whose destroy is
#: finishing (``ContainerContext.trash_path``).
TRASH = ".trash"


class Peer(Protocol):
    """A client connection, as containers see it.

    Containers keep the peers that referenced them (for the grace timer); a
    Stream sends its chunks through ``send``; a Link, Stream or Run stops
    waiting when ``when_lost`` fires (the job stays, to be linked again).
    """

    def send(self, message: Message) -> None:
        """Write one response frame (ignored once the connection is gone)."""

    def send_frame(self, frame: bytes) -> None:
        """Write a response frame already encoded (a Stream chunk's, made by
        ``stream_chunk_wire``); ignored once the connection is gone."""

    def when_lost(self) -> defer.Deferred[None]:
        """A Deferred that fires when the connection closes (cancel it to forget it)."""

    def register_producer(self, producer: Any) -> None:
        """Pause ``producer`` (an IPushProducer) while the connection's send
        buffer is full, resume it once drained (StreamOut's back-pressure)."""

    def unregister_producer(self) -> None:
        """Forget the producer registered last."""


class ScriptRunner(Protocol):
    """How containers run host commands: ``_scripts.run_script``, or a fake in unit tests."""

    def __call__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, object] | None = None,
        stdin: bytes | None = None,
        max_output: int = DEFAULT_MAX_OUTPUT,
        check: bool = True,
        reactor: Any = None,
        on_stdout: Callable[[bytes], None] | None = None,
        stdin_until: defer.Deferred[None] | None = None,
    ) -> defer.Deferred[ScriptResult]:
        """Run ``argv`` to its end (``ScriptError`` on failure when ``check``);
        ``on_stdout`` is given its output as it comes; with ``stdin_until``
        its stdin is a pipe held open (nothing written) until that fires."""


class Named(Protocol):
    """What the registry needs of a container: its handle, and whether its
    destroy is under way (then it is no longer listed)."""

    @property
    def handle(self) -> str:
        """The container's handle."""

    @property
    def being_destroyed(self) -> bool:
        """Whether a Destroy of the container is under way."""


#: What a registry holds (containers; the server's is a ``Registry[Container]``).
C = TypeVar("C", bound=Named)


class ContainerIds:
    """Container ids: 11 characters, base-32 digits of a counter from the clock.

    The counter starts at the current time in microseconds and is incremented
    before each use. 11 characters fit the interface names ``w-<id>-0``
    within IFNAMSIZ (15).
    """

    _DIGITS = "0123456789abcdefghijklmnopqrstuv"

    def __init__(self, start: int | None = None) -> None:
        self._counter = start if start is not None else time.time_ns() // 1000

    def next(self) -> str:
        """The next id."""
        self._counter += 1
        return "".join(self._DIGITS[(self._counter >> (55 - (i + 1) * 5)) & 31] for i in range(11))


class Registry(Generic[C]):
    """Handles of live containers; handles being created are reserved, not listed.

    Generic in what it holds, so that this module needs no container class
    (the container base imports this module).
    """

    def __init__(self) -> None:
        self._live: dict[str, C] = {}
        self._reserved: set[str] = set()

    def reserve(self, handle: str) -> None:
        """Claim a handle for a container being created."""
        if handle in self._live or handle in self._reserved:
            raise WardenError(f"container with handle: {handle} already exists.")
        self._reserved.add(handle)

    def release(self, handle: str) -> None:
        """Give up a reservation (create failed)."""
        self._reserved.discard(handle)

    def register(self, container: C) -> None:
        """Make a container reachable by its handle."""
        self._reserved.discard(container.handle)
        self._live[container.handle] = container

    def unregister(self, container: C) -> None:
        """Remove a container (destroyed)."""
        if self._live.get(container.handle) is container:
            del self._live[container.handle]
        self._reserved.discard(container.handle)

    def get(self, handle: str) -> C:
        """The container with this handle, or the original's ``unknown handle``."""
        try:
            return self._live[handle]
        except KeyError:
            raise WardenError(UNKNOWN_HANDLE) from None

    def find(self, handle: str) -> C | None:
        """The container with this handle, or None."""
        return self._live.get(handle)

    def handles(self) -> list[str]:
        """Handles of live containers (not those whose destroy is under way)."""
        return [handle for handle, c in self._live.items() if not c.being_destroyed]

    def __iter__(self) -> Iterator[C]:
        return iter(list(self._live.values()))

    def __len__(self) -> int:
        return len(self._live)


@dataclass
class ContainerContext:
    """The server's collaborators, shared by all containers."""

    reactor: Any
    config: Config
    network_pool: NetworkPool
    port_pool: PortPool
    uid_pool: UidPool
    #: The server's ``Registry[Container]``; containers only reserve,
    #: release, register and unregister themselves in it.
    registry: Registry[Any]
    container_ids: ContainerIds
    job_ids: JobIdCounter
    jobs: JobServices
    #: The one funnel every backend script goes through (injected by unit tests).
    run_script: ScriptRunner = field(default=run_script)
    #: Called when the OOM killer acts in a container (the server's metrics).
    count_oom: Callable[[], None] = lambda: None
    #: Destroys answered whose last part (``Container.begin_destroy``'s
    #: Deferred) is still running: a clean exit waits for them.
    finishing_destroys: set[defer.Deferred[None]] = field(default_factory=set)

    @property
    def depot_path(self) -> str:
        """``server.container_depot_path``."""
        return self.config.server.container_depot_path

    @property
    def trash_path(self) -> str:
        """``<depot>/.trash``: destroyed containers' directories while their
        destroy finishes after its answer (a dot entry: not a container)."""
        return os.path.join(self.depot_path, TRASH)

    def new_container_id(self) -> str:
        """An id not used by any directory in the depot or its trash."""
        while True:
            container_id = self.container_ids.next()
            if not os.path.exists(
                os.path.join(self.depot_path, container_id)
            ) and not os.path.exists(os.path.join(self.trash_path, container_id)):
                return container_id
