# -*- test-case-name: tests.test_requests,tests.unit.test_unit_lifecycle -*-
"""The container base: state machine, request table, resources, jobs, snapshots.

A request reaches a container through ``Container.dispatch``, which looks the
request class up in ``REQUEST_TABLE`` (handler, allowed states, snapshot
bracket), checks the state, and runs the handler inside the bracket. Handlers
do the cross-cutting work (resources, jobs, events, grace timer) and call the
backend's ``do_*`` methods for the part that touches the host.

Backend surface
===============

A backend subclasses ``Container``, sets ``backend_name`` (its folder under
``root-scripts/``) and implements only these; every ``do_*`` defaults to
``WardenError("not implemented")``:

``async do_create(request: CreateRequest) -> None``
    Make the container at ``self.container_path``. On any error the base
    dispatches Destroy, so ``do_destroy`` must cope with a half-made container.
``async do_stop(kill: bool) -> None``
    TERM every process of the container, KILL after a wait (at once when
    ``kill``). The base then waits for every job to end.
``async do_destroy() -> None``
    Remove every process and file of the container. Must also work for a
    container known only by ``container_id``/``container_path`` (a leftover
    found at start without a snapshot).
``async begin_destroy() -> Deferred[None]`` (optional)
    What Destroy waits for before its answer: every process dead, the
    network unreachable. Returns a Deferred fired when the rest is gone too
    (the default: ``do_destroy``, then one already fired). The subnet, the
    ports and the uid go back to the pools only when it fires.
``job_command(job: Job) -> tuple[Sequence[str], Mapping[str, str]]`` (sync)
    How to start the job wrapper: argv, and environment added to
    ``job.env`` (which already holds ``JOB_DIR``, ``DISCARD_OUTPUT``, ``LANG``
    and ``RLIMIT_<NAME>``; see ``_jobs.py`` for the wrapper's duties). Its
    stdin is the job's ``script``.
    ``job.privileged`` says whether the script runs as root.
``async do_copy_in(request) -> None``, ``async do_copy_out(request) -> None``
``stream_command(direction: str, path: str) -> tuple[Sequence[str], Mapping[str, object]]``
    (sync) The StreamIn/StreamOut extension: argv and environment of the
    process that runs tar in the container's view (``direction`` ``in``:
    extract stdin under ``path``; ``out``: pack ``path`` to stdout).
``async do_net_in(request) -> NetInResponse``, ``async do_net_out(request) -> None``
``async do_limit_memory|do_limit_disk|do_limit_bandwidth|do_limit_cpu(request) -> response``
``async add_info(response: InfoResponse) -> None``
    Add backend statistics to an Info response (base fields are set).
``is_alive() -> bool`` (sync) and ``async restore() -> None``
    Recovery at start: a container that is not alive is destroyed; ``restore``
    re-applies what the snapshot's ``resources`` record (a WardenError
    destroys the container).
``classmethod async setup_host(config: Config) -> None``
    Host setup once at server start (before recovery).

Backends keep their own state in ``self.resources`` (a JSON-able dict saved
in the snapshot) and may use: ``self.context`` (config, pools, reactor),
``self.container_id``, ``self.handle``, ``self.container_path``,
``self.root_scripts`` (their ``root-scripts/<backend_name>`` folder),
``self.network``, ``self.host_ip``, ``self.container_ip``, ``self.uid``,
``self.events`` (``add_event``), ``self.state``, ``self.run_script(...)``,
``self.acquire_port()`` / ``self.release_port(port)`` and ``self.log``.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from google.protobuf.message import Message
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from warden.protocol import (
    CopyInRequest,
    CopyInResponse,
    CopyOutRequest,
    CopyOutResponse,
    CreateRequest,
    CreateResponse,
    DestroyRequest,
    DestroyResponse,
    GetPropertyRequest,
    GetPropertyResponse,
    InfoRequest,
    InfoResponse,
    LimitBandwidthRequest,
    LimitCpuRequest,
    LimitDiskRequest,
    LimitMemoryRequest,
    LinkRequest,
    LinkResponse,
    NetInRequest,
    NetInResponse,
    NetOutRequest,
    NetOutResponse,
    Property,
    RemovePropertyRequest,
    RemovePropertyResponse,
    ResizeRequest,
    ResizeResponse,
    RunRequest,
    RunResponse,
    SetPropertyRequest,
    SetPropertyResponse,
    SignalRequest,
    SignalResponse,
    SpawnRequest,
    SpawnResponse,
    StdinRequest,
    StdinResponse,
    StopRequest,
    StopResponse,
    StreamOutRequest,
    StreamOutResponse,
    StreamRequest,
    StreamResponse,
    filtered_dict,
    stream_chunk_wire,
    type_underscored,
)

from .._config import Config
from .._errors import StateError, WardenError
from .._exit_status import client_exit_status, signal_name
from .._job_control import data_records, resize_record, send_records
from .._job_files import recycle_job_dir
from .._jobs import Job, JobResult
from .._logging import debug_enabled
from .._messages import script_reason
from .._output_response import OutputResponse
from .._pools import NetworkPool, PoolExhaustedError
from .._properties import check_count, check_pair, validated
from .._scripts import DEFAULT_MAX_OUTPUT, ScriptError, ScriptResult
from .._signals import parse_signal
from .._snapshot import delete_snapshot, write_snapshot
from .._tar import TarIn, TarOut
from ._context import ContainerContext, Peer

__all__ = [
    "REQUEST_TABLE",
    "SNAPSHOT_RETRY",
    "Bracket",
    "Container",
    "ConnectionGoneError",
    "State",
    "Response",
    "Step",
]

T = TypeVar("T")
_Tar = TypeVar("_Tar", TarIn, TarOut)

#: Seconds between attempts to write a snapshot that could not be written
#: (a full depot): until it is, a restart would destroy the container.
SNAPSHOT_RETRY = 2.0

#: Seconds a job's end waits to be written to the snapshot. Everything the
#: write would add is also in the job's directory (``exit_status``, the
#: output-limit flag), which recovery reads when the snapshot has no status,
#: so nothing is lost if the server dies meanwhile; and a request that
#: rewrites the snapshot in the meantime (the next Spawn, say) takes the
#: job's end along: one write per job instead of two, and none between a
#: Run's answer and its sending. (A Run's own job is in no snapshot while
#: its client waits: see ``Container._run``.)
SNAPSHOT_AFTER_JOB_END = 1.0


#: What Info says while a Stop is under way (the original said ``stopped``
#: at once).
STOPPING = "stopping"


class _NetworkTakenError(WardenError):
    """The subnet a create asked for is someone else's (perhaps a destroy still finishing)."""


class State(enum.Enum):
    """Container states; the value is the name in snapshots and Info."""

    BORN = "born"
    ACTIVE = "active"
    STOPPED = "stopped"
    DESTROYED = "destroyed"


class Bracket(enum.Enum):
    """What happens to the snapshot around a request."""

    #: Not touched.
    NONE = "none"
    #: Deleted before the handler, written after it even when it fails, so a
    #: crash in the middle leaves no snapshot and recovery destroys the container.
    AROUND = "around"
    #: The handler brackets the part that changes state itself (Stop: a stop of
    #: a stopped container is a no-op that leaves the snapshot alone).
    HANDLER = "handler"


#: What a request is answered with: a message, or (Run, Link) one with the
#: job's output beside it.
Response = Message | OutputResponse
Handler = Callable[["Container", Any, "Peer | None"], Awaitable[Response]]


@dataclass(frozen=True)
class Step:
    """How a container serves one request class."""

    handler: Handler
    #: States the request is allowed in, in the order the error message lists
    #: them; None means no check (Link, Stream and Run check jobs instead).
    states: tuple[State, ...] | None
    bracket: Bracket


class ConnectionGoneError(Exception):
    """The client went away while its Link, Stream or Run waited; the job stays."""


class Container:
    """A container: see the module docstring for what a backend implements."""

    #: Folder under ``root-scripts/`` and the short ``container_klass`` name.
    backend_name: ClassVar[str] = "base"

    def __init__(self, context: ContainerContext) -> None:
        self.context = context
        self.state = State.BORN
        self.resources: dict[str, Any] = {}
        self.events: dict[str, None] = {}  # an ordered set
        self.grace_time: int | None = context.config.server.container_grace_time
        self.jobs: dict[int, Job] = {}
        #: Properties (an extension): labels kept in the snapshot.
        self.properties: dict[str, str] = {}
        self.obituary: InfoResponse | None = None
        self._acquired: dict[str, Any] = {}
        self._container_path: str | None = None
        #: The connections that reference it (usually one or none: a tuple,
        #: far smaller than a set; one is kept per live container).
        self._peers: tuple[Peer, ...] = ()
        self._grace_timer: Any = None
        self._brackets = 0
        self._destroying = False
        #: A Destroy is under way: to clients the container is already gone.
        self.being_destroyed = False
        self._destroy_finished: defer.Deferred[None] | None = None
        #: Idle in the warm pool (``_warm_pool.py``): made in advance, in no
        #: registry, without a handle of its own until a Create takes it.
        self.pooled = False
        #: Fires when the Stop under way ends (None when none is).
        self._stopping: defer.Deferred[None] | None = None
        self._snapshot_retry: Any = None
        self._jobs_dir_made = False
        #: The write that follows a job's end (SNAPSHOT_AFTER_JOB_END).
        self._snapshot_soon: Any = None
        #: The tar of each StreamIn or StreamOut under way (ended by Destroy);
        #: made by the first.
        self._tars: set[TarIn | TarOut] | None = None

    @property
    def log(self) -> Logger:
        """The backend's logger (one per backend, shared by its containers)."""
        return _logger(self.backend_name)

    @property
    def destroy_finished(self) -> defer.Deferred[None]:
        """Fires once the last destroy's last part has ended (failed or not);
        already fired when no destroy has begun."""
        if self._destroy_finished is None:
            return defer.succeed(None)
        return self._destroy_finished

    # -- identity and resources --

    @property
    def container_id(self) -> str:
        """The 11-character id; names the directory, cgroups, interfaces."""
        return str(self.resources["container_id"])

    @property
    def handle(self) -> str:
        """The client-visible handle (chosen at create, else the id)."""
        return str(self.resources.get("handle", self.resources.get("container_id", "")))

    @property
    def container_path(self) -> str:
        """``<depot>/<container_id>``, or where the container was found at start."""
        if self._container_path is None:
            return os.path.join(self.context.depot_path, self.container_id)
        return self._container_path

    @container_path.setter
    def container_path(self, path: str) -> None:
        self._container_path = path

    @property
    def jobs_path(self) -> str:
        """Folder holding one folder per job."""
        return os.path.join(self.container_path, "jobs")

    @property
    def root_scripts(self) -> str:
        """This backend's folder of host scripts."""
        return os.path.join(self.context.config.server.root_scripts_path, self.backend_name)

    @property
    def config(self) -> Config:
        """The server configuration."""
        return self.context.config

    @property
    def network(self) -> str:
        """Dotted base address of the container's /30."""
        return str(self.resources["network"])

    @property
    def host_ip(self) -> str:
        """Host side of the container's /30 (base + 1)."""
        return _offset(self.network, 1)

    @property
    def container_ip(self) -> str:
        """Container side of the container's /30 (base + 2)."""
        return _offset(self.network, 2)

    @property
    def uid(self) -> int:
        """The container's uid from the uid pool."""
        return int(self.resources["uid"])

    @property
    def state_name(self) -> str:
        """The state as clients see it: ``stopping`` while a Stop is under
        way (the container is already ``stopped`` to what it allows), then
        ``stopped`` once every process has ended."""
        if self._stopping is not None:
            return STOPPING
        return self.state.value

    def add_event(self, event: str) -> None:
        """Record an event (Info lists each once, in order of first occurrence)."""
        self.events[event] = None

    def _acquire(self, handle: str | None, network: str | None) -> None:
        """Take id, handle, network and uid; kept ones come from a snapshot."""
        context = self.context
        if "container_id" not in self.resources:
            self.resources["container_id"] = context.new_container_id()
        if "handle" not in self.resources:
            wanted = handle or self.container_id
            if not self.pooled:  # a pooled container's handle is reserved when taken
                context.registry.reserve(wanted)
                self._acquired["handle"] = wanted
            self.resources["handle"] = wanted
        if "network" in self.resources:
            self._acquired["network"] = NetworkPool.subnet_of(self.network)
        elif network:
            subnet = NetworkPool.subnet_of(network)
            if not context.network_pool.fetch(subnet):
                raise _NetworkTakenError(f"Could not acquire network: {subnet}")
            self._acquired["network"] = subnet
            self.resources["network"] = str(subnet)
        else:
            subnet = context.network_pool.acquire()
            self._acquired["network"] = subnet
            self.resources["network"] = str(subnet)
        if "uid" in self.resources:
            self._acquired["uid"] = self.uid
        else:
            uid = context.uid_pool.acquire()
            self._acquired["uid"] = uid
            self.resources["uid"] = uid
        self.resources.setdefault("ports", [])
        self._acquired["ports"] = list(self.resources["ports"])

    def release_resources(self) -> None:
        """Give back to the pools what this object acquired (only that)."""
        self._release(self._acquired)

    def _release(self, acquired: dict[str, Any]) -> None:
        context = self.context
        network = acquired.pop("network", None)
        if network is not None:
            context.network_pool.release(network)
        uid = acquired.pop("uid", None)
        if uid is not None:
            context.uid_pool.release(uid)
        for port in acquired.pop("ports", []):
            context.port_pool.release(port)
        handle = acquired.pop("handle", None)
        if handle is not None:
            context.registry.release(handle)

    def _release_when_finished(self, finished: defer.Deferred[None]) -> None:
        """The handle now (it names nothing on the host); the subnet, the
        ports and the uid once the destroy's last part has ended, so that a
        new container never meets what is left of this one (its firewall
        rules, its files). Should that part fail, they stay taken: the next
        server's start removes what is left."""
        held, self._acquired = self._acquired, {}
        handle = held.pop("handle", None)
        if handle is not None:
            self.context.registry.release(handle)
        pending = self.context.finishing_destroys
        finished_all: defer.Deferred[None] = defer.Deferred()
        self._destroy_finished = finished_all

        def done(result: object) -> None:
            pending.discard(finished)
            if isinstance(result, Failure):
                self.log.error(
                    "destroy did not finish; its subnet, ports and uid stay taken "
                    "until the next start removes what is left: {e}",
                    e=result.getErrorMessage(), handle=self.handle,
                )  # fmt: skip
            else:
                self._release(held)
            finished_all.callback(None)

        pending.add(finished)
        finished.addBoth(done)

    def acquire_port(self) -> int:
        """A host port from the pool, owned by this container until destroy."""
        port = self.context.port_pool.acquire()
        self.resources.setdefault("ports", []).append(port)
        self._acquired.setdefault("ports", []).append(port)
        return port

    def release_port(self, port: int) -> None:
        """Return a pool port now (a failed net_in), exactly once."""
        for owned in (self.resources.get("ports", []), self._acquired.get("ports", [])):
            if port in owned:
                owned.remove(port)
        self.context.port_pool.release(port)

    # -- scripts --

    def run_script(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, object] | None = None,
        stdin: bytes | None = None,
        max_output: int = DEFAULT_MAX_OUTPUT,
        check: bool = True,
        on_stdout: Callable[[bytes], None] | None = None,
        stdin_until: defer.Deferred[None] | None = None,
    ) -> defer.Deferred[ScriptResult]:
        """Run a host command through the one funnel (the context's, ``_scripts.run_script``)."""
        # The optional hooks are passed only when set: test doubles of the
        # funnel need not know them.
        extra: dict[str, Any] = {}
        if on_stdout is not None:
            extra["on_stdout"] = on_stdout
        if stdin_until is not None:
            extra["stdin_until"] = stdin_until
        return self.context.run_script(
            argv, env=env, stdin=stdin, max_output=max_output, check=check,
            reactor=self.context.reactor, **extra,
        )  # fmt: skip

    # -- dispatch --

    async def dispatch(self, request: Message, peer: Peer | None = None) -> Response:
        """Serve one request: state check, snapshot bracket, handler; log it."""
        step = REQUEST_TABLE.get(type(request))
        if step is None:
            raise WardenError(f"Unknown request: {type(request).__name__}")
        started = self.context.reactor.seconds()
        if step.states is not None and self.state not in step.states:
            raise StateError(tuple(s.value for s in step.states), self.state_name)
        if step.bracket is Bracket.AROUND:
            async with self._snapshot_bracket():
                response = await step.handler(self, request, peer)
        else:
            response = await step.handler(self, request, peer)
        if debug_enabled():  # the request and response as dicts cost: only when logged
            self._log_request(request, response, started)
        return response

    def _log_request(self, request: Message, response: Response, started: float) -> None:
        if isinstance(response, OutputResponse):
            response = response.whole()
        self.log.debug(
            "{kind} (took {took:.6f})",
            kind=type_underscored(request),
            took=self.context.reactor.seconds() - started,
            handle=self.handle,
            request=_loggable(filtered_dict(request)),
            response=_loggable(filtered_dict(response)),
        )

    def _snapshot_bracket(self) -> _SnapshotBracket:
        return _SnapshotBracket(self)

    def write_snapshot(self) -> None:
        """Write ``snapshot.json`` now (atomically)."""
        self._cancel_snapshot_soon()  # this write has everything it would
        write_snapshot(self.container_path, self.to_snapshot())

    def save_snapshot_soon(self) -> None:
        """Write the snapshot in ``SNAPSHOT_AFTER_JOB_END`` seconds, unless a
        write comes first, for a change that recovery can also read from the
        files it touched (a job's end)."""
        if self._snapshot_soon is None:
            self._snapshot_soon = self.context.reactor.callLater(
                SNAPSHOT_AFTER_JOB_END, self._snapshot_due
            )

    def flush_snapshot(self) -> None:
        """Write a snapshot that ``save_snapshot_soon`` put off, now (before the
        server exits)."""
        if self._snapshot_soon is not None:
            self._cancel_snapshot_soon()
            self._snapshot_due()

    def _cancel_snapshot_soon(self) -> None:
        if self._snapshot_soon is not None:
            if self._snapshot_soon.active():
                self._snapshot_soon.cancel()
            self._snapshot_soon = None

    def _snapshot_due(self) -> None:
        self._snapshot_soon = None
        # Unless a request holds it deleted (its bracket writes it at the end).
        if (
            self._brackets == 0
            and not self._destroying
            and self.state in (State.ACTIVE, State.STOPPED)
        ):
            self.save_snapshot()

    def save_snapshot(self) -> None:
        """Write the snapshot after a change. If it cannot be written (the
        depot's disk is full), the change stands: the error is logged and the
        write tried again every ``SNAPSHOT_RETRY`` seconds until it works."""
        try:
            self.write_snapshot()
        except OSError as error:
            self.log.error(
                "cannot write the snapshot, trying again in {s}s: {e}",
                s=SNAPSHOT_RETRY,
                e=error,
                handle=self.handle,
            )
            if self._snapshot_retry is None:
                self._snapshot_retry = self.context.reactor.callLater(
                    SNAPSHOT_RETRY, self._retry_snapshot
                )

    def _retry_snapshot(self) -> None:
        self._snapshot_retry = None
        if self.state in (State.ACTIVE, State.STOPPED) and self._brackets == 0:
            self.save_snapshot()

    def delete_snapshot(self) -> None:
        """Remove ``snapshot.json``."""
        self._cancel_snapshot_soon()  # whoever deletes it writes it again, or destroys
        delete_snapshot(self.container_path)

    def to_snapshot(self) -> dict[str, Any]:
        """The snapshot document."""
        return {
            "state": self.state.value,
            "events": list(self.events),
            "grace_time": self.grace_time,
            "limits": {},
            "jobs": {str(i): job.to_snapshot() for i, job in self.jobs.items()},
            "resources": self.resources,
            # Only when set: named containers' snapshots stay the original's.
            **({"pooled": True} if self.pooled else {}),
            **({"properties": self.properties} if self.properties else {}),
        }

    async def _container_info(self) -> InfoResponse:
        if self.obituary is not None:
            return self.obituary
        info = await self.dispatch(InfoRequest(handle=self.handle))
        assert isinstance(info, InfoResponse)
        return info

    # -- handlers (the request table below names them) --

    async def _acquire_when_free(self, handle: str | None, network: str | None) -> None:
        """``_acquire``, waiting for destroys still finishing when a pool has
        nothing (or the wanted subnet is taken): what they hold goes back to
        the pools when they end, and a create right after a destroy must find
        it, as it would once the destroy had answered."""
        before = dict(self.resources)
        while True:
            try:
                self._acquire(handle, network)
                return
            except (PoolExhaustedError, _NetworkTakenError):
                self.release_resources()
                finishing = list(self.context.finishing_destroys)
                if not finishing:
                    raise
                # Taken again on the next try, as if for the first time.
                container_id = self.resources.get("container_id")
                self.resources.clear()
                self.resources.update(before)
                if container_id is not None:
                    self.resources["container_id"] = container_id
            # Whichever ends first may have freed enough; try again then.
            await defer.DeferredList(finishing, fireOnOneCallback=True, fireOnOneErrback=True)

    async def _create(self, request: CreateRequest, peer: Peer | None) -> CreateResponse:
        try:
            await self._acquire_when_free(
                request.handle if request.HasField("handle") else None,
                request.network if request.HasField("network") else None,
            )
            if request.HasField("grace_time"):
                self.grace_time = request.grace_time
            self.properties = validated(self.config.server, request.properties)
        except BaseException:
            self.release_resources()
            raise
        try:
            os.makedirs(self.context.depot_path, exist_ok=True)
            await self.do_create(request)
            self.state = State.ACTIVE
            try:
                self.write_snapshot()
            except BaseException:
                self.state = State.BORN
                raise
        except BaseException as error:
            # Whatever failed, leave nothing behind, then report the original error.
            self.log.warn("create failed, destroying: {error}", error=error, handle=self.handle)
            try:
                await self.dispatch(DestroyRequest(handle=self.handle))
                # Its error answered once nothing is left (not at Destroy's own
                # answer): a client may look at once.
                await self.destroy_finished
            except Exception as cleanup:
                self.log.error("cleanup after failed create: {e}", e=cleanup, handle=self.handle)
            self.release_resources()
            raise
        if not self.pooled:
            self.context.registry.register(self)
        return CreateResponse(handle=self.handle)

    def take_from_pool(
        self,
        handle: str | None,
        grace_time: int | None,
        properties: Mapping[str, str] | None = None,
    ) -> None:
        """Turn this idle pooled container into a named one: the handle
        ``handle`` (else its id), the grace time (else the configured one) and
        the properties (checked by the caller).

        Synchronous, so nothing runs between the check of the handle and the
        registration. Raises WardenError for a handle in use, OSError when the
        snapshot cannot be written; either way the container stays pooled.
        """
        assert self.pooled and self.state is State.ACTIVE
        wanted = handle or self.container_id
        registry = self.context.registry
        registry.reserve(wanted)
        previous = (self.resources["handle"], self.grace_time, self.properties)
        self.pooled = False
        self.resources["handle"] = wanted
        self.properties = dict(properties or {})
        if grace_time is None:
            grace_time = self.config.server.container_grace_time
        self.grace_time = grace_time
        try:
            self.write_snapshot()
        except BaseException:
            self.pooled = True
            self.resources["handle"], self.grace_time, self.properties = previous
            registry.release(wanted)
            raise
        self._acquired["handle"] = wanted
        registry.register(self)

    async def _stop(self, request: StopRequest, peer: Peer | None) -> StopResponse:
        if self.state is State.STOPPED:
            if self._stopping is not None:  # a Stop under way (in the background)
                await _waiting_on(self._stopping)
            return StopResponse()
        self.state = State.STOPPED
        self._stopping = defer.Deferred()
        try:
            async with self._snapshot_bracket():
                await self.do_stop(request.kill)
                # Postcondition of stop: every job has ended.
                running = [job.finished(output=False) for job in self.jobs.values()
                           if not job.terminated]  # fmt: skip
                if running:
                    await defer.DeferredList(running)
        finally:
            stopped, self._stopping = self._stopping, None
            stopped.callback(None)
        return StopResponse()

    async def _destroy(self, request: DestroyRequest, peer: Peer | None) -> DestroyResponse:
        self.being_destroyed = True
        try:
            return await self._destroy_now()
        finally:
            # A destroy that failed leaves the container as it was.
            self.being_destroyed = self.state is State.DESTROYED

    async def _destroy_now(self) -> DestroyResponse:
        if self.state is not State.DESTROYED:
            try:
                obituary = await self.dispatch(InfoRequest(handle=self.handle))
                assert isinstance(obituary, InfoResponse)
                self.obituary = obituary
            except WardenError:
                pass  # best effort; a container that failed to create has none
            if self.state is not State.STOPPED or self._stopping is not None:
                with contextlib.suppress(WardenError):  # best effort; waits for one under way
                    await self.dispatch(StopRequest(handle=self.handle))
        self._destroying = True
        tars = list(self._tars or ())  # StreamIns and StreamOuts under way
        for tar in tars:
            tar.abort()
        # tar works on the container's files: it has exited before they go.
        # (SIGKILL to the spawner's own child: its exit is reported at once.)
        await defer.gatherResults([tar.process.exit_waiter() for tar in tars])
        # Gone first: should the server die in the middle, the next one
        # finds no snapshot and finishes the destroy, rather than bring back
        # a container half torn down.
        self.delete_snapshot()
        try:
            finished = await self.begin_destroy()
        finally:
            self._destroying = False
        if self._snapshot_retry is not None and self._snapshot_retry.active():
            self._snapshot_retry.cancel()
        self._snapshot_retry = None
        self._cancel_snapshot_soon()
        self._release_when_finished(finished)
        self.state = State.DESTROYED
        self.context.registry.unregister(self)
        self.cancel_grace_timer()
        self._peers = ()
        for job in list(self.jobs.values()):
            job.abandon()
        return DestroyResponse()

    async def _info(self, request: InfoRequest, peer: Peer | None) -> InfoResponse:
        response = InfoResponse(
            state=self.state_name,
            events=list(self.events),
            host_ip=self.host_ip,
            container_ip=self.container_ip,
            container_path=self.container_path,
            # Every job that can still be linked: running, or ended and not
            # yet linked or streamed to its end (the original: running only).
            job_ids=sorted(self.jobs),
            properties=[Property(key=k, value=v) for k, v in self.properties.items()],
        )
        await self.add_info(response)
        return response

    def _rlimits(self, request: SpawnRequest) -> dict[str, int]:
        """Configured rlimits overlaid with the request's, for this request only."""
        limits = dict(self.context.config.server.container_rlimits)
        if request.HasField("rlimits"):
            for field, value in request.rlimits.ListFields():
                limits[field.name] = value
        return limits

    async def _spawn(self, request: SpawnRequest, peer: Peer | None) -> SpawnResponse:
        if not self._jobs_dir_made:  # once: it stays until the container goes
            os.makedirs(self.jobs_path, exist_ok=True)
            self._jobs_dir_made = True
        job = Job.create(
            self.context.jobs,
            job_id=self.context.job_ids.next(),
            jobs_path=self.jobs_path,
            script=request.script,
            discard_output=request.discard_output,
            log_tag=request.log_tag if request.HasField("log_tag") else None,
            output_limit=self.context.config.server.job_output_limit,
        )
        job.privileged = request.privileged
        job.stdin = request.stdin
        if request.HasField("tty"):
            job.tty = _tty_size(request.tty.rows, request.tty.columns)
        job.env = job.wrapper_env(self._rlimits(request), os.environ.get("LANG", "en_US.UTF-8"))
        try:
            argv, env = self.job_command(job)
            await job.start(tuple(argv), {**job.env, **env})
        except BaseException:
            job.remove()
            raise
        job.on_finish = self._job_finished
        self.jobs[job.job_id] = job
        return SpawnResponse(job_id=job.job_id)

    def _job_dir_emptied(self, path: str) -> None:
        # On the reactor's thread, not a pool's: a rename never once a
        # destroy (whose rm -rf a new name would race) has begun.
        if self.state is State.DESTROYED or self._destroying or self.being_destroyed:
            with contextlib.suppress(OSError):
                os.rmdir(path)
            return
        recycle_job_dir(path)

    def _job_finished(self, job: Job) -> None:
        ended_by = signal_name(job.status) if job.status is not None else None
        if ended_by is not None:
            # Clients get 255 for it (as the original's); the signal is told here.
            self.log.info(
                "job {job_id} was ended by {signal} (answered as exit status 255)",
                job_id=job.job_id, signal=ended_by, handle=self.handle,
            )  # fmt: skip
        # The snapshot is rewritten after a job ends: soon, not at once (see
        # SNAPSHOT_AFTER_JOB_END); not for a Run's job no snapshot has listed.
        if job.recorded:
            self.save_snapshot_soon()

    def _job(self, job_id: int) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise WardenError("no such job")
        return job

    async def _until_lost(self, waiting: defer.Deferred[T], peer: Peer | None) -> T:
        """Wait for ``waiting``, unless the client goes away first."""
        if peer is None:
            return await waiting
        contenders: list[defer.Deferred[Any]] = [waiting, peer.when_lost()]
        index, value = await defer.race(contenders)
        if index == 1:
            raise ConnectionGoneError()
        return value  # type: ignore[no-any-return]

    def _forget(self, job: Job, result: JobResult) -> None:
        if result.error is not None:
            self.add_event(result.error)
        if self.jobs.get(job.job_id) is job:
            del self.jobs[job.job_id]
            # Its directory goes after the answer is out, not on Link's way
            # (still watched meanwhile for late output: see _jobs.py), and
            # off the reactor thread.
            self.context.reactor.callLater(0, job.remove_in_background, self._job_dir_emptied)

    async def _linked(self, job_id: int, peer: Peer | None) -> tuple[JobResult, InfoResponse]:
        """Wait for a job's end, forget it; its result and the container's Info."""
        job = self._job(job_id)
        result = await self._until_lost(job.finished(), peer)
        self._forget(job, result)
        return result, await self._container_info()

    async def _link(self, request: LinkRequest, peer: Peer | None) -> OutputResponse:
        result, info = await self._linked(request.job_id, peer)
        return OutputResponse(
            LinkResponse(exit_status=client_exit_status(result.exit_status), info=info),
            result.stdout,
            result.stderr,
        )

    async def _stream(self, request: StreamRequest, peer: Peer | None) -> StreamResponse:
        job = self._job(request.job_id)

        def send(name: str, data: bytes) -> None:
            if peer is not None:
                # The frame written directly: no message built, two copies fewer.
                peer.send_frame(stream_chunk_wire(name, data))

        follower = job.add_follower(send)
        try:
            result = await self._until_lost(job.finished(output=False), peer)
        finally:
            job.remove_follower(follower)
        self._forget(job, result)
        return StreamResponse(
            exit_status=client_exit_status(result.exit_status), info=await self._container_info()
        )

    def _interactive_job(self, job_id: int, *, tty: bool) -> Job:
        job = self._job(job_id)
        if job.terminated:
            raise WardenError(f"job {job_id} has finished")
        if tty and job.tty is None:
            raise WardenError(f"job {job_id} has no terminal (spawn it with tty)")
        if not job.interactive:
            raise WardenError(f"job {job_id} has no stdin (spawn it with stdin or tty)")
        return job

    async def _send_to_job(self, job: Job, records: bytes) -> None:
        try:
            await send_records(self.context.reactor, job.path, records)
        except WardenError as error:
            raise WardenError(f"job {job.job_id} {error.message}") from None

    async def _stdin(self, request: StdinRequest, peer: Peer | None) -> StdinResponse:
        job = self._interactive_job(request.job_id, tty=False)
        await self._send_to_job(job, data_records(request.data, request.eof))
        return StdinResponse()

    async def _resize(self, request: ResizeRequest, peer: Peer | None) -> ResizeResponse:
        job = self._interactive_job(request.job_id, tty=True)
        size = _tty_size(request.rows, request.columns)
        await self._send_to_job(job, resize_record(*size))
        job.tty = size  # for the snapshot; a later one has it
        return ResizeResponse()

    async def _run(self, request: RunRequest, peer: Peer | None) -> OutputResponse:
        spawn = SpawnRequest(
            handle=request.handle,
            script=request.script,
            privileged=request.privileged,
            discard_output=request.discard_output,
        )
        if request.HasField("rlimits"):
            spawn.rlimits.CopyFrom(request.rlimits)
        if request.HasField("log_tag"):
            spawn.log_tag = request.log_tag
        # Spawn's work without its snapshot bracket (deleted before, written
        # with the job before the answer): a Run is answered only at the job's
        # end, which forgets it, so no client can name the job after a
        # restart, and the container's snapshot need not change at all. A
        # crash meanwhile leaves the container as its snapshot had it (the
        # job's process runs on, unfollowed, as any process in it would).
        if self.state not in _ACTIVE:
            raise StateError(tuple(s.value for s in _ACTIVE), self.state_name)
        spawned = await self._spawn(spawn, None)
        # Link's own work, without a LinkResponse in between: output (up to
        # job_output_limit) is copied into one response, not two, and Info is
        # asked once.
        try:
            result, info = await self._linked(spawned.job_id, peer)
        except ConnectionGoneError:
            # The job stays, linkable by its id (Info lists it): from now on
            # in the snapshot, as a spawned job is.
            self.save_snapshot_soon()
            raise
        return OutputResponse(
            RunResponse(exit_status=client_exit_status(result.exit_status), info=info),
            result.stdout,
            result.stderr,
        )

    # -- extensions --

    def _properties_changed(self) -> None:
        # Unless a request holds the snapshot deleted (its bracket writes it).
        if self._brackets == 0:
            self.save_snapshot()

    async def _set_property(
        self, request: SetPropertyRequest, peer: Peer | None
    ) -> SetPropertyResponse:
        check_pair(self.config.server, request.key, request.value)
        if request.key not in self.properties:
            check_count(self.config.server, len(self.properties) + 1)
        self.properties[request.key] = request.value
        self._properties_changed()
        return SetPropertyResponse()

    async def _get_property(
        self, request: GetPropertyRequest, peer: Peer | None
    ) -> GetPropertyResponse:
        value = self.properties.get(request.key)
        if value is None:
            raise WardenError(f"unknown property: {request.key!r}")
        return GetPropertyResponse(value=value)

    async def _remove_property(
        self, request: RemovePropertyRequest, peer: Peer | None
    ) -> RemovePropertyResponse:
        if request.key not in self.properties:
            raise WardenError(f"unknown property: {request.key!r}")
        del self.properties[request.key]
        self._properties_changed()
        return RemovePropertyResponse()

    async def _signal(self, request: SignalRequest, peer: Peer | None) -> SignalResponse:
        number = parse_signal(request.signal)
        job = self.jobs.get(request.job_id)
        if job is None:
            raise WardenError(f"no such job: {request.job_id}")
        if job.terminated:
            raise WardenError(f"job {request.job_id} has already finished")
        # The job's process group: in the Linux backend that is the job
        # inside the container (warden-exec's waiting parent blocks every
        # signal), never its output keeper.
        job.kill(number)
        return SignalResponse()

    async def _net_in(self, request: NetInRequest, peer: Peer | None) -> NetInResponse:
        return await self.do_net_in(request)

    async def _net_out(self, request: NetOutRequest, peer: Peer | None) -> NetOutResponse:
        await self.do_net_out(request)
        return NetOutResponse()

    async def _copy_in(self, request: CopyInRequest, peer: Peer | None) -> CopyInResponse:
        with _saying_why():
            await self.do_copy_in(request)
        return CopyInResponse()

    async def _copy_out(self, request: CopyOutRequest, peer: Peer | None) -> CopyOutResponse:
        with _saying_why():
            await self.do_copy_out(request)
        return CopyOutResponse()

    async def open_stream_in(self, dst_path: str) -> TarIn:
        """Start extracting a tar stream under ``dst_path`` (StreamIn's first chunk).

        StreamIn is served by the server, which keeps the open stream with
        its connection; the container checks its state and starts tar.
        """
        if self.state not in _ACTIVE:
            raise StateError(tuple(s.value for s in _ACTIVE), self.state_name)
        if not dst_path:
            raise WardenError("stream_in failed: dst_path is empty")
        argv, env = self.stream_command("in", dst_path)
        tar = self._follow(TarIn(argv, env, self.context.reactor))
        await tar.start()
        return tar

    def _follow(self, tar: _Tar) -> _Tar:
        """Keep ``tar`` until it ends, for Destroy to end it first."""
        if self._tars is None:
            self._tars = set()
        self._tars.add(tar)

        def ended(status: int) -> int:
            if self._tars is not None:
                self._tars.discard(tar)
            return status  # for tar's own waiters after this one

        tar.process.ended.addCallback(ended)
        return tar

    async def _stream_out(self, request: StreamOutRequest, peer: Peer | None) -> StreamOutResponse:
        if not request.src_path:
            raise WardenError("stream_out failed: src_path is empty")

        def send(data: bytes) -> None:
            if peer is not None:
                peer.send(StreamOutResponse(data=data))

        argv, env = self.stream_command("out", request.src_path)
        tar = self._follow(TarOut(argv, env, self.context.reactor, send))
        try:
            await tar.start()
        except WardenError:
            tar.abort()
            raise
        producer = _TarProducer(tar)
        if peer is not None:
            peer.register_producer(producer)
        # race() in _until_lost waits for a success: tar's failure comes boxed.
        ended: defer.Deferred[list[Any]] = defer.ensureDeferred(tar.run()).addBoth(
            lambda outcome: [outcome]
        )
        try:
            (outcome,) = await self._until_lost(ended, peer)
            if isinstance(outcome, Failure):
                outcome.raiseException()
        except BaseException:
            tar.abort()
            raise
        finally:
            if peer is not None:
                peer.unregister_producer()
        return StreamOutResponse(done=True)

    async def _limit_memory(self, request: LimitMemoryRequest, peer: Peer | None) -> Message:
        return await self.do_limit_memory(request)

    async def _limit_disk(self, request: LimitDiskRequest, peer: Peer | None) -> Message:
        return await self.do_limit_disk(request)

    async def _limit_bandwidth(self, request: LimitBandwidthRequest, peer: Peer | None) -> Message:
        return await self.do_limit_bandwidth(request)

    async def _limit_cpu(self, request: LimitCpuRequest, peer: Peer | None) -> Message:
        return await self.do_limit_cpu(request)

    # -- grace timer (as decided: only connections that referenced us) --

    def reference(self, peer: Peer) -> None:
        """A connection created this container or named its handle."""
        self.cancel_grace_timer()
        if peer not in self._peers:
            self._peers += (peer,)

    def unreference(self, peer: Peer) -> None:
        """A referencing connection closed; arm the grace timer if none is left."""
        self._peers = tuple(each for each in self._peers if each is not peer)
        if not self._peers:
            self.arm_grace_timer()

    def arm_grace_timer(self) -> None:
        """Destroy after ``grace_time`` seconds without referencing connections."""
        self.cancel_grace_timer()
        if self.grace_time is None or self.state is State.DESTROYED or self._peers:
            return
        self.log.debug("grace timer: fires in {s}s", s=self.grace_time, handle=self.handle)
        self._grace_timer = self.context.reactor.callLater(self.grace_time, self._grace_expired)

    def cancel_grace_timer(self) -> None:
        """Stop a pending grace timer."""
        if self._grace_timer is not None and self._grace_timer.active():
            self._grace_timer.cancel()
        self._grace_timer = None

    def _grace_expired(self) -> None:
        self._grace_timer = None
        self.log.info("grace timer fired, destroying container", handle=self.handle)
        d = defer.ensureDeferred(self.dispatch(DestroyRequest(handle=self.handle)))
        d.addErrback(
            lambda f: self.log.warn(
                "destroy after grace time failed: {e}", e=f.getErrorMessage(), handle=self.handle
            )
        )

    # -- recovery --

    @classmethod
    def from_snapshot(
        cls, context: ContainerContext, path: str, snapshot: Mapping[str, Any]
    ) -> Container:
        """Rebuild a container found at ``path`` (may differ from where it was made).

        Takes its resources out of the pools and rebuilds its jobs; the caller
        then checks ``is_alive`` and calls ``restore``.
        """
        container = cls(context)
        container.container_path = path
        container.resources = dict(snapshot.get("resources") or {})
        container.resources.setdefault("container_id", os.path.basename(path))
        container.state = State(snapshot.get("state", "active"))
        container.events = dict.fromkeys(snapshot.get("events") or [])
        container.grace_time = snapshot.get("grace_time", container.grace_time)
        container.pooled = bool(snapshot.get("pooled", False))
        container.properties = {
            str(k): str(v) for k, v in (snapshot.get("properties") or {}).items()
        }
        container._acquire(None, None)
        context.port_pool.delete(*container.resources.get("ports", []))
        context.uid_pool.delete(container.uid)
        context.network_pool.delete(NetworkPool.subnet_of(container.network))
        for key, entry in (snapshot.get("jobs") or {}).items():
            job = Job.recover(
                context.jobs,
                job_id=int(key),
                jobs_path=container.jobs_path,
                entry=entry,
                output_limit=context.config.server.job_output_limit,
            )
            if job is not None:
                job.on_finish = container._job_finished
                container.jobs[job.job_id] = job
        return container

    @classmethod
    def leftover(cls, context: ContainerContext, path: str) -> Container:
        """A container known only by its directory (no snapshot): to be destroyed."""
        container = cls(context)
        container.container_path = path
        container.resources["container_id"] = os.path.basename(path)
        return container

    # -- the backend surface (see the module docstring) --

    @classmethod
    async def setup_host(cls, config: Config) -> None:
        """Prepare the host once at server start."""

    @classmethod
    def teardown_host(cls, config: Config) -> None:
        """Undo what ``setup_host`` made that nothing uses any more, once the
        reactor has stopped (synchronous: nothing runs after it)."""

    def is_alive(self) -> bool:
        """Whether a container found at start still exists."""
        return True

    async def restore(self) -> None:
        """Re-apply what ``resources`` records after a restart."""

    async def do_create(self, request: CreateRequest) -> None:
        raise WardenError("not implemented")

    async def do_stop(self, kill: bool) -> None:
        raise WardenError("not implemented")

    async def do_destroy(self) -> None:
        raise WardenError("not implemented")

    async def begin_destroy(self) -> defer.Deferred[None]:
        """Destroy up to what its answer promises; the Deferred returned fires
        when the rest is gone too (see the module docstring)."""
        await self.do_destroy()
        return defer.succeed(None)

    def job_command(self, job: Job) -> tuple[Sequence[str], Mapping[str, str]]:
        raise WardenError("not implemented")

    async def do_copy_in(self, request: CopyInRequest) -> None:
        raise WardenError("not implemented")

    async def do_copy_out(self, request: CopyOutRequest) -> None:
        raise WardenError("not implemented")

    def stream_command(
        self, direction: str, path: str
    ) -> tuple[Sequence[str], Mapping[str, object]]:
        raise WardenError("not implemented")

    async def do_net_in(self, request: NetInRequest) -> NetInResponse:
        raise WardenError("not implemented")

    async def do_net_out(self, request: NetOutRequest) -> None:
        raise WardenError("not implemented")

    async def do_limit_memory(self, request: LimitMemoryRequest) -> Message:
        raise WardenError("not implemented")

    async def do_limit_disk(self, request: LimitDiskRequest) -> Message:
        raise WardenError("not implemented")

    async def do_limit_bandwidth(self, request: LimitBandwidthRequest) -> Message:
        raise WardenError("not implemented")

    async def do_limit_cpu(self, request: LimitCpuRequest) -> Message:
        raise WardenError("not implemented")

    async def add_info(self, response: InfoResponse) -> None:
        """Add backend statistics to Info (nothing by default)."""


class _SnapshotBracket:
    """Delete the snapshot on entry; write it on exit, even after an error.

    When requests overlap (two spawns from two clients), the snapshot is
    written when the last of them ends, so that a crash in the middle of any
    of them leaves no snapshot.
    """

    def __init__(self, container: Container) -> None:
        self.container = container

    async def __aenter__(self) -> None:
        self.container._brackets += 1
        self.container.delete_snapshot()

    async def __aexit__(self, *exc_info: object) -> None:
        self.container._brackets -= 1
        container = self.container
        # Not during a destroy (its own Stop included): the destroy deletes
        # the snapshot next, so writing one would only be undone.
        if (
            container._brackets == 0
            and container.state is not State.DESTROYED
            and not container._destroying
            and not container.being_destroyed
        ):
            container.save_snapshot()


class _TarProducer:
    """(An IPushProducer.) A connection's send buffer pauses tar's output."""

    def __init__(self, tar: TarOut) -> None:
        self.tar = tar

    def pauseProducing(self) -> None:
        self.tar.pause()

    def resumeProducing(self) -> None:
        self.tar.resume()

    def stopProducing(self) -> None:
        self.tar.abort()


def _waiting_on(event: defer.Deferred[None]) -> defer.Deferred[None]:
    """A Deferred that fires with ``event`` and whose cancelling leaves ``event`` alone."""
    waiter: defer.Deferred[None] = defer.Deferred()

    def fire(result: object) -> object:
        if not waiter.called:
            waiter.callback(None)
        return result

    event.addBoth(fire)
    return waiter


@contextlib.contextmanager
def _saying_why() -> Iterator[None]:
    """A failed script's error carries what the script said (the original
    answered the bare ``command exited with failure``, which it keeps as the
    start of the message)."""
    try:
        yield
    except ScriptError as error:
        reason = script_reason(error.result.stderr)
        if not reason:
            raise
        raise WardenError(f"{error.message}: {reason}") from error


def _loggable(fields: dict[str, Any]) -> dict[str, Any]:
    """Job output (bytes, up to the output limit) is logged by its size only."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, bytes):
            out[key] = f"<{len(value)} bytes>"
        elif isinstance(value, dict):
            out[key] = _loggable(value)
        else:
            out[key] = value
    return out


@functools.cache
def _logger(backend_name: str) -> Logger:
    return Logger(namespace=f"warden.server.container.{backend_name}")


def _offset(network: str, n: int) -> str:
    import ipaddress

    return str(ipaddress.IPv4Address(network) + n)


def _tty_size(rows: int, columns: int) -> tuple[int, int]:
    if not (0 < rows < 65536 and 0 < columns < 65536):
        raise WardenError("a terminal needs 1 to 65535 rows and columns")
    return rows, columns


_ACTIVE = (State.ACTIVE,)
_ACTIVE_STOPPED = (State.ACTIVE, State.STOPPED)

#: Request class -> how a container serves it: the states it is
#: allowed in and what happens to the snapshot around it. Ping, List and Echo
#: never reach a container; Create reaches a new one.
REQUEST_TABLE: Mapping[type[Message], Step] = {
    CreateRequest: Step(Container._create, (State.BORN,), Bracket.NONE),
    StopRequest: Step(Container._stop, _ACTIVE_STOPPED, Bracket.HANDLER),
    DestroyRequest: Step(
        Container._destroy,
        (State.BORN, State.ACTIVE, State.STOPPED, State.DESTROYED),
        Bracket.NONE,
    ),
    InfoRequest: Step(Container._info, _ACTIVE_STOPPED, Bracket.NONE),
    SpawnRequest: Step(Container._spawn, _ACTIVE, Bracket.AROUND),
    LinkRequest: Step(Container._link, None, Bracket.NONE),
    StreamRequest: Step(Container._stream, None, Bracket.NONE),
    RunRequest: Step(Container._run, None, Bracket.NONE),
    StdinRequest: Step(Container._stdin, None, Bracket.NONE),
    ResizeRequest: Step(Container._resize, None, Bracket.NONE),
    NetInRequest: Step(Container._net_in, _ACTIVE, Bracket.AROUND),
    NetOutRequest: Step(Container._net_out, _ACTIVE, Bracket.AROUND),
    CopyInRequest: Step(Container._copy_in, _ACTIVE, Bracket.NONE),
    CopyOutRequest: Step(Container._copy_out, _ACTIVE_STOPPED, Bracket.NONE),
    StreamOutRequest: Step(Container._stream_out, _ACTIVE, Bracket.NONE),
    LimitMemoryRequest: Step(Container._limit_memory, _ACTIVE_STOPPED, Bracket.AROUND),
    LimitDiskRequest: Step(Container._limit_disk, _ACTIVE_STOPPED, Bracket.AROUND),
    LimitBandwidthRequest: Step(Container._limit_bandwidth, _ACTIVE_STOPPED, Bracket.AROUND),
    LimitCpuRequest: Step(Container._limit_cpu, _ACTIVE_STOPPED, Bracket.AROUND),
    # Extensions (not in the original warden).
    SetPropertyRequest: Step(Container._set_property, _ACTIVE_STOPPED, Bracket.NONE),
    GetPropertyRequest: Step(Container._get_property, _ACTIVE_STOPPED, Bracket.NONE),
    RemovePropertyRequest: Step(Container._remove_property, _ACTIVE_STOPPED, Bracket.NONE),
    SignalRequest: Step(Container._signal, _ACTIVE_STOPPED, Bracket.NONE),
}
