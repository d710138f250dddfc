# -*- test-case-name: tests.test_requests,tests.test_connections,tests.unit.test_unit_server -*-
"""The server: composition root, request dispatch, drain and recovery.

``Server`` builds the pools and the container context from the configuration,
recovers containers from the depot, listens on the unix socket, and turns
each request into a response: Ping, List, Echo and Capacity here, BulkInfo
over many containers, Create to a new container, everything else to the
container its handle names.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from typing import Any

from google.protobuf.message import Message
from twisted.internet import defer
from twisted.logger import Logger

from warden.protocol import (
    BulkInfoRequest,
    BulkInfoResponse,
    CapacityRequest,
    CreateRequest,
    CreateResponse,
    DestroyRequest,
    EchoRequest,
    EchoResponse,
    ErrorResponse,
    InfoRequest,
    InfoResponse,
    ListRequest,
    ListResponse,
    PingRequest,
    PingResponse,
    StopRequest,
    StopResponse,
    StreamInRequest,
    type_name,
)

from ._capacity import capacity
from ._config import Config
from ._errors import ConfigError, WardenError
from ._health import HealthCheckFactory
from ._job_ids import JobIdCounter
from ._jobs import JobServices
from ._messages import client_message, describe
from ._metrics import CONTENT_TYPE, ERROR, OK, Metrics
from ._pools import NetworkPool, PortPool, UidPool
from ._properties import matches, validated
from ._protocol import WardenConnection, WardenFactory
from ._scripts import run_script
from ._snapshot import SnapshotError, read_snapshot
from ._spawn import (
    PRIORITY_BOOST,
    helper_path,
    make_reactor_realtime,
    raise_priority,
    start_spawner,
)
from ._stale import kill_processes, kill_processes_using, processes_of_missing_entries
from ._stream_in import OpenStreamIn
from ._syslog import SyslogSender
from ._warm_pool import WarmPool
from ._watch import DirectoryWatcher
from .container import backend_class
from .container._context import (
    UNKNOWN_HANDLE,
    ContainerContext,
    ContainerIds,
    Registry,
    ScriptRunner,
)
from .container.base import ConnectionGoneError, Container, Response, State

__all__ = ["JOB_ID_FILE", "Server"]

#: The job id counter, in the depot (skipped by recovery, as are all dot files).
JOB_ID_FILE = ".job-id"


class Server:
    """The warden daemon, minus the process plumbing of ``_main``."""

    log = Logger(namespace="warden.server")

    def __init__(
        self, config: Config, reactor: Any, *, run_script: ScriptRunner = run_script
    ) -> None:
        """``run_script``: how containers run host commands (a fake in unit tests)."""
        self.config = config
        self.reactor = reactor
        try:
            self.container_class = backend_class(config.backend)
        except ImportError as error:
            raise ConfigError(
                f"server.container_klass: the {config.backend} backend is not available ({error})"
            ) from error
        depot = config.server.container_depot_path
        self.metrics = Metrics(self, (state.value for state in State))
        self.context = ContainerContext(
            reactor=reactor,
            config=config,
            network_pool=NetworkPool(
                config.network.pool_network, release_delay=config.network.release_delay,
                clock=reactor.seconds,
            ),
            port_pool=PortPool(config.port.pool_start_port, config.port.pool_size),
            uid_pool=UidPool(config.user.pool_start_uid, config.user.pool_size),
            registry=Registry[Container](),
            container_ids=ContainerIds(),
            job_ids=JobIdCounter(os.path.join(depot, JOB_ID_FILE)),
            jobs=JobServices(
                reactor=reactor, watcher=DirectoryWatcher(reactor),
                syslog=SyslogSender(config.server.syslog_socket),
            ),
            run_script=run_script,
            count_oom=self.metrics.count_oom,
        )  # fmt: skip
        self.warm_pool = WarmPool(
            size=config.server.container_pool_size,
            make=lambda: self.container_class(self.context),
            reactor=reactor,
            rootfs_path=config.server.container_rootfs_path,
        )
        self.connections: set[WardenConnection] = set()
        #: The StreamIn each connection is sending (at most one).
        self.streams_in: dict[WardenConnection, OpenStreamIn] = {}
        self.draining = False
        self.drained: defer.Deferred[None] = defer.Deferred()
        self.port: Any = None  # IListeningPort (typed Any: zope interfaces)
        self.health_port: Any = None
        self._pidfile: int | None = None

    @property
    def registry(self) -> Registry[Container]:
        """Live containers by handle."""
        return self.context.registry

    # -- start --

    async def start(self) -> None:
        """Host setup, recovery, then listen; the pidfile is written last."""
        server = self.config.server
        os.makedirs(server.container_depot_path, exist_ok=True)
        # Every process the server starts goes through it: a missing helper stops the start.
        start_spawner(self.reactor, helper_path(server.root_scripts_path))
        if raise_priority():
            self.log.info("Running {boost} above the scripts and jobs", boost=PRIORITY_BOOST)
        if server.reactor_realtime:
            why_not = make_reactor_realtime(self.reactor)
            if why_not is None:
                self.log.info("The reactor runs under SCHED_RR (server.reactor_realtime)")
            else:
                self.log.warn("server.reactor_realtime: SCHED_RR refused: {why}", why=why_not)
        await self.container_class.setup_host(self.config)
        await self.recover()
        if os.path.exists(server.unix_domain_path):
            os.unlink(server.unix_domain_path)
        # The socket is made owner-only, then given its mode, all before the
        # reactor serves anyone: nobody connects through a wider mode meanwhile.
        umask = os.umask(0o077)
        try:
            self.port = self.reactor.listenUNIX(
                server.unix_domain_path, WardenFactory(self), backlog=server.listen_backlog
            )
        finally:
            os.umask(umask)
        os.chmod(server.unix_domain_path, server.unix_domain_permissions)
        self.health_port = self.reactor.listenTCP(
            self.config.health_check_server.port,
            HealthCheckFactory(self.metrics.exposition, CONTENT_TYPE),
            interface="127.0.0.1",
        )
        self.log.info(
            "Listening on {path} (health check on 127.0.0.1:{port})",
            path=server.unix_domain_path,
            port=self.health_port.getHost().port,
        )
        if server.pidfile:
            self._write_pidfile(server.pidfile)
        self.warm_pool.refill()

    async def shutdown(self) -> None:
        """Before a clean exit (drain, SIGTERM, SIGINT): the warm pool stops
        refilling, and its idle containers are destroyed if so configured.
        Snapshots put off after a job's end are written."""
        for container in list(self.registry):
            container.flush_snapshot()
        await self.warm_pool.close(self.config.server.container_pool_destroy_on_shutdown)
        # Destroys already answered: their last part (firewall, cgroups, files).
        finishing = list(self.context.finishing_destroys)
        if finishing:
            await defer.DeferredList(finishing, consumeErrors=True)

    def _write_pidfile(self, path: str) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise WardenError(f"pidfile {path} is locked by another process") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._pidfile = fd
        self.log.info("Writing pid {pid} to {path}", pid=os.getpid(), path=path)

    def teardown_host(self) -> None:
        """At exit, after the reactor: the backend undoes its unused host setup."""
        try:
            self.container_class.teardown_host(self.config)
        except Exception:  # exiting anyway: say so, do not mask the exit status
            self.log.failure("host teardown failed")

    def remove_pidfile(self) -> None:
        """Remove the pidfile written at start (at exit)."""
        if self._pidfile is not None and self.config.server.pidfile:
            with contextlib.suppress(OSError):
                os.unlink(self.config.server.pidfile)
            os.close(self._pidfile)
            self._pidfile = None

    # -- recovery --

    async def recover(self) -> None:
        """Rebuild containers from their snapshots; destroy what cannot be recovered."""
        depot = self.config.server.container_depot_path
        context = self.context
        highest_job = 0
        # A dead server's create.sh that has not made its directory yet.
        await kill_processes(lambda: processes_of_missing_entries(depot), self.reactor, depot)
        # Destroys a dead server had answered but not finished.
        trash = context.trash_path
        os.makedirs(trash, exist_ok=True)
        for name in sorted(os.listdir(trash)):
            path = os.path.join(trash, name)
            self.log.info("Finishing the destroy of: {path}", path=path)
            await self._destroy_found(self.container_class.leftover(context, path))
        for name in sorted(os.listdir(depot)):
            path = os.path.join(depot, name)
            if name.startswith(".") or name == "tmp" or not os.path.isdir(path):
                continue
            try:
                snapshot = read_snapshot(path)
            except SnapshotError as error:
                self.log.error("Destroying container with a bad snapshot: {e}", e=error)
                snapshot = None
            if snapshot is None:
                self.log.info("Destroying container without snapshot at: {path}", path=path)
                await self._destroy_found(self.container_class.leftover(context, path))
                continue
            try:
                container = self.container_class.from_snapshot(context, path, snapshot)
            except (WardenError, LookupError, TypeError, ValueError) as error:
                self.log.error(
                    "Destroying unrecoverable container at {path}: {e!r}", path=path, e=error
                )
                await self._destroy_found(self.container_class.leftover(context, path))
                continue
            if not container.is_alive():
                self.log.info("Destroying dead container at: {path}", path=path)
                await self._destroy_found(container)
                continue
            try:
                await container.restore()
            except WardenError as error:
                self.log.error(
                    "Destroying unrecoverable container at {path}: {e}", path=path, e=error.message
                )
                await self._destroy_found(container)
                continue
            highest_job = max([highest_job, *container.jobs])
            if container.pooled:
                if self.warm_pool.adopt(container):
                    self.log.info("Recovered pooled container at: {path}", path=path)
                else:
                    self.log.info("Destroying pooled container beyond the pool: {path}", path=path)
                    await self._destroy_found(container)
                continue
            self.registry.register(container)
            container.arm_grace_timer()
            self.log.info(
                "Recovered container at: {path}", path=path, resources=container.resources
            )
        context.job_ids.ensure_above(highest_job)

    async def _destroy_found(self, container: Container) -> None:
        for job in container.jobs.values():
            job.close()
        container.release_resources()
        # A script of the previous server may still be making this container.
        await kill_processes_using(container.container_path, self.reactor)
        try:
            await container.do_destroy()
        except Exception as error:
            self.log.error("destroying {path} failed: {e}", path=container.container_path, e=error)

    # -- connections and requests --

    def connection_made(self, connection: WardenConnection) -> None:
        """A client connected."""
        self.connections.add(connection)

    def connection_lost(self, connection: WardenConnection) -> None:
        """A client went away: the containers it referenced may start their grace timers."""
        self.connections.discard(connection)
        stream_in = self.streams_in.pop(connection, None)
        if stream_in is not None:
            stream_in.abort()
        for container in list(connection.containers):
            container.unreference(connection)
        connection.containers.clear()
        self._check_drained()

    def _reference(self, connection: WardenConnection, container: Container) -> None:
        if connection.lost:
            container.arm_grace_timer()
            return
        connection.containers.add(container)
        container.reference(connection)

    async def handle(self, request: Message, connection: WardenConnection) -> None:
        """Serve one request and send its response (none if the client left mid-wait)."""
        started = time.perf_counter()
        response: Response
        try:
            response = await self.process(request, connection)
        except ConnectionGoneError:
            return
        except WardenError as error:
            response = ErrorResponse(message=self._error_message(request, error.message))
        except Exception as error:
            self.log.failure("{kind} failed", kind=type_name(request))
            response = ErrorResponse(message=self._error_message(request, describe(error)))
        self._count(request, response, started)
        connection.send(response)

    def _count(self, request: Message, response: Response, started: float) -> None:
        kind = type(request)
        failed = type(response) is ErrorResponse
        self.metrics.request_served(kind, ERROR if failed else OK, started)
        if not failed:
            if kind is CreateRequest:
                self.metrics.create_seconds.observe(time.perf_counter() - started)
            elif kind is DestroyRequest:
                self.metrics.destroy_seconds.observe(time.perf_counter() - started)

    def _error_message(self, request: Message, message: str) -> str:
        """What a client is told of a failed request: a container destroyed
        meanwhile is an unknown handle (whatever broke under the request as
        it went), and no Python error text gets out."""
        if self._destroyed_under(request):
            return UNKNOWN_HANDLE
        return client_message(message)

    def _destroyed_under(self, request: Message) -> bool:
        handle = getattr(request, "handle", None)
        if not handle or isinstance(request, (CreateRequest, DestroyRequest)):
            return False
        container = self.registry.find(handle)
        return container is None or container.being_destroyed

    def answer_now(self, request: Message) -> Message | None:
        """The response to a request the server answers itself (Ping, List,
        Echo: nothing to wait for), else None."""
        started = time.perf_counter()
        kind = type(request)
        response: Message
        if kind is PingRequest:
            response = PingResponse()
        elif kind is ListRequest:
            assert isinstance(request, ListRequest)
            response = ListResponse(handles=self._list(request))
        elif kind is EchoRequest:
            assert isinstance(request, EchoRequest)
            response = EchoResponse(message=request.message)
        elif kind is CapacityRequest:
            response = capacity(self.config, self.context.network_pool, self.context.uid_pool)
        else:
            return None
        self.metrics.request_served(kind, OK, started)
        return response

    def _list(self, request: ListRequest) -> list[str]:
        handles = self.registry.handles()
        if not request.properties:  # what the original answers, unchanged
            return handles
        wanted = request.properties
        return [
            handle
            for handle in handles
            if (found := self.registry.find(handle)) is not None
            and matches(found.properties, wanted)
        ]

    async def _bulk_info(self, request: BulkInfoRequest) -> BulkInfoResponse:
        """Each handle's Info or its error; no handles: every container.

        Unlike Info, naming a container here does not hold off its grace timer.
        """
        response = BulkInfoResponse()
        entries = [
            response.entries.add(handle=handle)
            for handle in list(request.handles) or self.registry.handles()
        ]
        # Side by side: a Linux container's Info reads its cgroups and disk.
        await defer.gatherResults(
            [defer.ensureDeferred(self._bulk_entry(entry)) for entry in entries]
        )
        return response

    async def _bulk_entry(self, entry: BulkInfoResponse.Entry) -> None:
        request = InfoRequest(handle=entry.handle)
        try:
            container = self.registry.get(entry.handle)
            if container.being_destroyed:
                raise WardenError(UNKNOWN_HANDLE)
            info = await container.dispatch(request)
            assert isinstance(info, InfoResponse)
            entry.info.CopyFrom(info)
        except WardenError as error:
            entry.error = self._error_message(request, error.message)
        except Exception as error:
            self.log.failure("Info of {handle} failed", handle=entry.handle)
            entry.error = client_message(describe(error))

    # -- what the metrics read at scrape time --

    def container_states(self) -> Iterator[str]:
        """The state name of each live container."""
        return (container.state.value for container in self.registry)

    def running_jobs(self) -> int:
        """Jobs not yet ended, over all live containers."""
        return sum(
            not job.terminated for container in self.registry for job in container.jobs.values()
        )

    def warm_pool_sizes(self) -> tuple[int, int]:
        """The warm pool's idle containers and its configured size."""
        return len(self.warm_pool.idle), self.warm_pool.size

    def pools(self) -> dict[str, NetworkPool | PortPool | UidPool]:
        """The pools by name."""
        context = self.context
        return {"network": context.network_pool, "port": context.port_pool, "uid": context.uid_pool}

    async def process(self, request: Message, connection: WardenConnection) -> Response:
        """The response to one request (raises WardenError for an error response)."""
        response = self.answer_now(request)
        if response is not None:
            return response
        if isinstance(request, CreateRequest):
            # Checked here too: a container from the pool is not created anew.
            validated(self.config.server, request.properties)
            container = self.warm_pool.take(request)
            if container is not None:
                self._reference(connection, container)
                return CreateResponse(handle=container.handle)
            container = self.container_class(self.context)
            with self.warm_pool.client_create():
                created = await container.dispatch(request, connection)
            self._reference(connection, container)
            return created
        if isinstance(request, BulkInfoRequest):
            return await self._bulk_info(request)
        if isinstance(request, StreamInRequest):
            return await self._stream_in(request, connection)
        container = self._container_for(request, connection)
        if isinstance(request, StopRequest) and request.background:
            # Reply now; stop on the next turn, its errors only logged.
            self.reactor.callLater(0, self._stop_in_background, container, request)
            return StopResponse()
        return await container.dispatch(request, connection)

    def _container_for(self, request: Message, connection: WardenConnection) -> Container:
        """The live container a request's handle names, now referenced by ``connection``."""
        handle = getattr(request, "handle", None)
        if handle is None:
            raise WardenError(f"Unknown request: {type_name(request)}")
        container = self.registry.get(handle)
        if container.being_destroyed and not isinstance(request, DestroyRequest):
            # Half torn down: to clients it is gone already.
            raise WardenError(UNKNOWN_HANDLE)
        self._reference(connection, container)
        return container

    async def _stream_in(self, request: StreamInRequest, connection: WardenConnection) -> Message:
        """One chunk of a StreamIn; the connection keeps its open stream (``_stream_in``)."""
        stream = self.streams_in.get(connection)
        if stream is None:
            stream = self.streams_in[connection] = OpenStreamIn(request.handle, request.dst_path)

            async def start() -> Any:
                container = self._container_for(request, connection)
                return await container.open_stream_in(request.dst_path)

            await stream.open(start)
        try:
            return await stream.feed(request)
        finally:
            if request.last and self.streams_in.get(connection) is stream:
                del self.streams_in[connection]

    def _stop_in_background(self, container: Container, request: StopRequest) -> None:
        d = defer.ensureDeferred(container.dispatch(request))
        d.addErrback(
            lambda f: self.log.warn(
                "background stop of {handle} failed: {e}",
                handle=container.handle,
                e=f.getErrorMessage(),
            )
        )

    # -- drain --

    def drain(self) -> None:
        """Stop accepting, close idle connections and those waiting
        on Link, Stream or Run, let the other requests finish, snapshot everything, stop."""
        if self.draining:
            return
        self.draining = True
        self.log.info("Drain initiated")
        stopped: defer.Deferred[Any] = (
            defer.maybeDeferred(self.port.stopListening) if self.port else defer.succeed(None)
        )

        def close_connections(_: object) -> None:
            for connection in list(self.connections):
                connection.drain()
            self._check_drained()

        stopped.addBoth(close_connections)

    def _check_drained(self) -> None:
        if not self.draining or self.connections or self.drained.called:
            return
        for container in self.registry:
            try:
                container.write_snapshot()
            except OSError as error:
                self.log.error("snapshot of {handle} failed: {e}", handle=container.handle, e=error)
            for job in container.jobs.values():
                job.close()
        self.log.info("Drain complete")
        self.drained.callback(None)
