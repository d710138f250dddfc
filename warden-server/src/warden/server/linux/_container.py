# -*- test-case-name: tests_linux.test_lifecycle -*-
"""The Linux backend: real containers (namespaces, cgroups, an overlay root).

Everything that touches the host is a script in ``root-scripts/linux/``
(its README describes each step); this class decides which script runs when,
with what environment:

- server start: ``setup.sh`` (tools, cgroup hierarchies, firewall base);
- Create: ``create.sh <path>`` (a directory from the skeleton, its config and
  writable layer), then ``<path>/start.sh`` (namespaces, mounts, cgroups,
  veth, and a static init as PID 1: the only process an idle container has);
- Stop: ``<path>/stop.sh [-w 0]``; Destroy: ``destroy.sh <path>``;
- Spawn/Run: ``bin/warden-keeper`` with warden-exec's command line, built
  here (``_job_command.py``; ``job.sh <path> vcap|root`` is the manual
  equivalent), detached (see ``_jobs.py``);
- CopyIn/CopyOut: ``copy.sh in|out ...``, tar inside the container as vcap;
- StreamIn/StreamOut (extensions): ``stream.sh in|out <path> PATH``, tar
  inside the container as vcap, on pipes to the server.

Both enter the container through ``warden-exec`` (root-scripts/linux/src/),
with the hardening options of ``_security.py`` in their environment.

A container lives on without the server: its init is a child of the host's
init. At start the server recovers it when ``run/init.pid`` names a live
process in the container's cgroup (v1: its freezer cgroup). While the server runs, it follows
the init through a pidfd: should the init die (killed from the host, which
takes every process of the container with it), the container gets the event
``container init died`` and, if active, is stopped; it stays listed, its
host state (cgroups, firewall chains, directory) until it is destroyed.

Limits and statistics (memory and OOM, cpu, disk, pids) are delegated to a
``ContainerLimits`` (``_limits.py``); its disk layer is made between
``create.sh`` and ``start.sh``, and mounted by the child hook.

Networking (NetIn, NetOut, LimitBandwidth, Info's bandwidth_stat, restore)
is delegated to ``ContainerNetwork`` (``_net.py``, docs/networking.md);
the firewall base is part of host setup, the container's chains come with
``start.sh`` and go with ``destroy.sh`` (both run its ``net.sh``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path

from google.protobuf.message import Message
from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure

from warden.protocol import (
    CopyInRequest,
    CopyOutRequest,
    CreateRequest,
    InfoResponse,
    LimitBandwidthRequest,
    LimitBandwidthResponse,
    LimitCpuRequest,
    LimitDiskRequest,
    LimitMemoryRequest,
    NetInRequest,
    NetInResponse,
    NetOutRequest,
    StopRequest,
)

from .._config import Config
from .._errors import WardenError
from .._jobs import Job
from .._off_reactor import off_reactor
from .._scripts import ScriptError, run_script
from .._security import entry_environment
from .._tails import gate_for
from .._watch import ProcessExitWatcher
from ..container.base import Container, State
from ._create import create_environment, find_init
from ._disk import detect_project_quota
from ._job_command import EnterOptions, job_argv
from ._limits import ContainerLimits, LimitsSettings
from ._net import ContainerNetwork
from ._net_rules import host_firewall_env
from .cgroups import (
    CgroupSetupError,
    ContainerCgroupDirs,
    host_layout,
    prepare_container,
    prepare_host,
)

__all__ = ["INIT_DIED", "LinuxContainer"]

#: The event of a container whose init died while the server ran.
INIT_DIED = "container init died"

#: What ``destroy.sh`` prints once the processes are dead and the veth gone.
TORN_DOWN = b"torn-down\n"


def _moved(value: str, old: str, new: str) -> str:
    """``value`` with the directory ``old`` it may lie in replaced by ``new``."""
    if value == old or value.startswith(old + os.sep):
        return new + value[len(old) :]
    return value


#: create.sh's last line on stderr when its disk step (disk.sh create) failed.
DISK_CREATE_FAILED = "create: disk.sh create failed"


class LinuxContainer(Container):
    """A Linux container; see the module docstring."""

    backend_name = "linux"

    _limits: ContainerLimits | None = None
    _init_watch: ProcessExitWatcher | None = None

    def _script(self, name: str) -> str:
        return os.path.join(self.root_scripts, name)

    def _own_script(self, name: str) -> str:
        """A script of the container's own directory (copied from the skeleton)."""
        return os.path.join(self.container_path, name)

    @cached_property
    def networking(self) -> ContainerNetwork:
        """NetIn, NetOut, bandwidth: the container's ``net.sh`` and ``net_rate.sh``."""
        return ContainerNetwork(self)

    _cgroups: ContainerCgroupDirs | None = None

    @property
    def cgroups(self) -> ContainerCgroupDirs:
        """The container's cgroup directories (the layout detected at server start)."""
        server = self.config.server
        layout = host_layout(server.cgroup_parent, Path(server.cgroup_root))
        # Kept per layout (the layout and the id: its paths are made when asked).
        if self._cgroups is None or self._cgroups.layout is not layout:
            self._cgroups = layout.container(self.container_id)
        return self._cgroups

    @property
    def limits(self) -> ContainerLimits:
        """The container's limits and statistics (made on first use)."""
        if self._limits is None:
            self._limits = ContainerLimits(
                LimitsSettings.from_config(self.config),
                container_id=self.container_id,
                container_path=self.container_path,
                uid=int(self.resources.get("uid", 0)),
                resources=self.resources,
                reactor=self.context.reactor,
                files=self.context.jobs.watcher,
                run=self.run_script,
                on_oom=self._out_of_memory,
            )
        return self._limits

    def _watch_init(self) -> None:
        pid = self.init_pid()
        if pid is not None and self._init_watch is None:
            self._init_watch = ProcessExitWatcher(self.context.reactor, pid, self._init_died)

    def _unwatch_init(self) -> None:
        if self._init_watch is not None:
            self._init_watch.cancel()
            self._init_watch = None

    def _init_died(self) -> None:
        """The init died under us: everything in the container died with it."""
        self._init_watch = None
        if self.state not in (State.ACTIVE, State.STOPPED):
            return
        self.log.warn("the container's init died", handle=self.handle)
        self.add_event(INIT_DIED)
        if self.state is State.ACTIVE:
            stopping = defer.ensureDeferred(self.dispatch(StopRequest(handle=self.handle)))
            stopping.addErrback(
                lambda f: self.log.warn(
                    "stop after the init died failed: {e}",
                    e=f.getErrorMessage(),
                    handle=self.handle,
                )
            )
        else:
            self._save_events()

    def _save_events(self) -> None:
        # The event belongs in the snapshot (unless a request holds it deleted).
        if self._brackets == 0:
            self.save_snapshot()

    def _out_of_memory(self) -> None:
        """The OOM killer acted in the container: as the original, note it and stop."""
        self.add_event("out of memory")
        self.context.count_oom()
        if self.state is State.ACTIVE:
            stopping = defer.ensureDeferred(self.dispatch(StopRequest(handle=self.handle)))
            stopping.addErrback(
                lambda f: self.log.warn(
                    "stop after OOM failed: {e}", e=f.getErrorMessage(), handle=self.handle
                )
            )

    # -- host --

    @classmethod
    def teardown_host(cls, config: Config) -> None:
        """Remove the cgroup parent directories that host preparation made, where
        no container is left in them (rmdir refuses a cgroup with children, so
        containers that outlive this server keep theirs). The firewall chains
        and ip_forward stay: they are the host's setup, and containers that
        outlive the server still need them."""
        server = config.server
        try:
            layout = host_layout(server.cgroup_parent, Path(server.cgroup_root))
        except OSError:
            return
        for parent in layout.parent_dirs():
            with contextlib.suppress(OSError):
                parent.rmdir()

    @classmethod
    async def setup_host(cls, config: Config) -> None:
        server = config.server
        if os.geteuid() != 0:
            raise WardenError("linux containers require root privileges")
        if not os.path.isdir(server.container_rootfs_path):
            raise WardenError(
                f"container_rootfs_path does not exist {server.container_rootfs_path}"
            )
        if not os.path.isdir(server.container_depot_path):
            raise WardenError(f"container_depot_path does not exist {server.container_depot_path}")
        try:
            layout = prepare_host(server.cgroup_parent, Path(server.cgroup_root))
        except (CgroupSetupError, OSError) as problem:
            raise WardenError(f"cgroups: {problem}") from problem
        Logger(namespace="warden.server.container.linux").info(
            "containers' cgroups: {kind}, under {parents}",
            kind=layout.describe(),
            parents=", ".join(str(p) for p in layout.parent_dirs()),
        )
        network = config.network
        await run_script(
            [os.path.join(server.root_scripts_path, cls.backend_name, "setup.sh")],
            env={
                "CGROUP_PARENT": server.cgroup_parent,
                "CONTAINER_ROOTFS_PATH": server.container_rootfs_path,
                "CONTAINER_DEPOT_PATH": server.container_depot_path,
                **host_firewall_env(
                    network.pool_network,
                    network.allow_networks,
                    network.deny_networks,
                    network.allow_host_access,
                ),
            },
        )
        if server.disk_quota_enabled and server.disk_limit_backend == "loop":
            await cls._detect_disk_project_quota(config)

    @classmethod
    async def _detect_disk_project_quota(cls, config: Config) -> None:
        """Once per server start: whether loop images can be limited by project quota."""
        server = config.server
        supported, reason = await detect_project_quota(
            Path(server.root_scripts_path) / cls.backend_name / "disk.sh",
            run_script,
            Path(server.container_depot_path),
        )
        Logger(namespace="warden.server.container.linux").info(
            "disk limits: {how}",
            how="ext4 project quotas"
            if supported
            else f"a ballast in each image (no project quotas: {reason})",
        )

    # -- lifecycle --

    async def do_create(self, request: CreateRequest) -> None:
        env = create_environment(
            request,
            self.config,
            container_id=self.container_id,
            host_ip=self.host_ip,
            container_ip=self.container_ip,
            uid=self.uid,
            init=find_init(),
        )
        cgroups = self.cgroups
        env.update(cgroups.script_env())
        # The disk layer, before anything mounts it: made by create.sh itself
        # where it can (one bash fewer), else by the limits.
        disk_env = self.limits.create_env()
        env.update(disk_env)
        try:
            made = await self.run_script([self._script("create.sh"), self.container_path], env=env)
        except ScriptError as problem:
            # The disk step's failure, named on create.sh's last line: the
            # message the limits give when they run disk.sh themselves.
            tail = problem.result.stderr.decode("utf-8", "replace").strip().splitlines()
            if disk_env and tail[-1:] == [DISK_CREATE_FAILED]:
                reason = tail[-2].removeprefix("disk: ") if len(tail) > 1 else ""
                reason = reason or f"exit {problem.result.exit_code}"
                raise WardenError(
                    f"Failed preparing the disk limit: disk.sh create failed: {reason}"
                ) from problem
            raise
        await self.limits.create(made.stdout if disk_env else None)
        try:
            restrict = not self.config.server.allow_nested_warden
            await off_reactor(
                self.context.reactor, lambda: prepare_container(cgroups, restrict_devices=restrict)
            )
        except (CgroupSetupError, OSError) as problem:
            raise WardenError(f"cgroups: {problem}") from problem
        await self.run_script([self._own_script("start.sh")])
        await off_reactor(self.context.reactor, self.limits.started)
        self.networking.created()
        self._watch_init()

    async def do_stop(self, kill: bool) -> None:
        wait = ["-w", "0"] if kill else []
        try:
            # Nothing to stop (every Destroy stops first): no stop.sh to start.
            if not await off_reactor(self.context.reactor, self._only_init_left):
                await self.run_script([self._own_script("stop.sh"), *wait])
        finally:
            self.limits.stopped()

    def _only_init_left(self) -> bool:
        """Whether the container's cgroups hold its init and nothing else, as
        ``stop.sh`` would find at once; False whenever in doubt (it then runs)."""
        init = self.init_pid()
        if init is None:
            return False
        main = self.cgroups.main
        try:
            found = False
            for procs in main.glob("**/cgroup.procs"):  # main's own included
                for line in procs.read_text().split():
                    if int(line) != init:
                        return False
                    found = True
            return found
        except (OSError, ValueError):
            return False

    async def do_destroy(self) -> None:
        await (await self.begin_destroy())

    async def begin_destroy(self) -> defer.Deferred[None]:
        """Run ``destroy.sh`` until it prints ``torn-down`` (every process
        dead, the veth gone); the Deferred returned fires at its end (the
        firewall, the cgroups, the disk layer and the directory gone)."""
        self._unwatch_init()
        # The loop image's disk.sh destroy runs from destroy.sh, sourced there
        # once the processes are dead and before the directory goes.
        env = self.limits.destroy_by_script()
        if env is None:
            await self.limits.destroy()
        path = self._move_to_trash()
        if env is not None and path != self.container_path:
            env = {key: _moved(value, self.container_path, path) for key, value in env.items()}
        # What follows the answer waits (stdin's EOF) until no destroy of
        # this server is before its answer (``_tails``).
        env = {**(env or {}), "DESTROY_TAIL_WAITS_FOR_STDIN": "1"}
        gate = gate_for(self.context.reactor)
        tail: defer.Deferred[None] = defer.Deferred()
        torn_down: defer.Deferred[None] = defer.Deferred()
        seen = bytearray()

        def output(data: bytes) -> None:
            if torn_down.called:
                return
            seen.extend(data)
            if TORN_DOWN in seen:
                gate.destroy_answered(tail)
                torn_down.callback(None)

        def ended(result: object) -> object:
            if not torn_down.called:
                gate.destroy_answered(tail)
                if isinstance(result, Failure):
                    torn_down.errback(result)  # the destroy failed: it says why
                    return None
                torn_down.callback(None)
            return result

        gate.destroy_started()
        try:
            finished = self.run_script(
                [self._script("destroy.sh"), path], env=env, on_stdout=output, stdin_until=tail
            ).addBoth(ended)
        except BaseException:
            gate.destroy_answered(tail)
            raise
        await torn_down
        return finished.addCallback(lambda _: None)

    def _move_to_trash(self) -> str:
        """The directory moved into the depot's ``.trash`` (a rename), where
        its destroy finishes after the answer; where it is now when it cannot
        be moved (gone, or a name taken there)."""
        path = self.container_path
        trash = self.context.trash_path
        if os.path.dirname(os.path.abspath(path)) == os.path.abspath(trash):
            return path  # a leftover found there at start
        target = os.path.join(trash, os.path.basename(path))
        for attempt in (1, 2):
            try:
                os.rename(path, target)
                return target
            except FileNotFoundError:
                if not os.path.isdir(path):
                    # Moved already by a destroy that failed before its answer.
                    return target if os.path.isdir(target) else path
                if attempt == 2:
                    return path
                with contextlib.suppress(OSError):
                    os.makedirs(trash, exist_ok=True)  # the server makes it at start
            except OSError as error:
                self.log.warn("destroying {path} in place: {e}", path=path, e=error)
                break
        return path

    # -- limits and statistics --

    async def do_limit_memory(self, request: LimitMemoryRequest) -> Message:
        return await self.limits.limit_memory(request)

    async def do_limit_cpu(self, request: LimitCpuRequest) -> Message:
        return await self.limits.limit_cpu(request)

    async def do_limit_disk(self, request: LimitDiskRequest) -> Message:
        return await self.limits.limit_disk(request)

    # -- jobs and files --

    def job_command(self, job: Job) -> tuple[Sequence[str], Mapping[str, str]]:
        """The keeper's command line, built here (``_job_command``): what
        ``job.sh`` would exec, without a bash started first."""
        init = self.init_pid()
        cgroups = self.cgroups
        # As job.sh's check_init: a recycled pid never leads into someone
        # else's namespaces (warden-exec checks again on what it opened).
        if init is None or not cgroups.contains(init):
            self.log.warn(
                "job {job_id} did not start: the container is not running (init {pid})",
                job_id=job.job_id, pid=init, handle=self.handle,
            )  # fmt: skip
            raise WardenError("job failed to start")
        server = self.config.server
        options = EnterOptions(
            init_pid=init,
            cgroup_member=cgroups.member,
            cgroup_dirs=[str(path) for path in cgroups.dirs],
            uid=0 if job.privileged else self.uid,
            caps=",".join(server.privileged_capabilities),
            no_new_privs=server.privileged_no_new_privs,
            seccomp=server.seccomp,
        )
        return job_argv(self._script("bin"), job.env, options), {}

    def stream_command(
        self, direction: str, path: str
    ) -> tuple[Sequence[str], Mapping[str, object]]:
        argv = [self._script("stream.sh"), direction, self.container_path, path]
        return argv, entry_environment(self.config.server)

    async def do_copy_in(self, request: CopyInRequest) -> None:
        argv = [self._script("copy.sh"), "in", self.container_path]
        argv += [request.src_path, request.dst_path]
        await self.run_script(argv, env=entry_environment(self.config.server))

    async def do_copy_out(self, request: CopyOutRequest) -> None:
        argv = [self._script("copy.sh"), "out", self.container_path]
        argv += [request.src_path, request.dst_path]
        if request.HasField("owner") and request.owner:
            argv.append(request.owner)
        await self.run_script(argv, env=entry_environment(self.config.server))

    # -- networking --

    async def do_net_in(self, request: NetInRequest) -> NetInResponse:
        return await self.networking.net_in(request)

    async def do_net_out(self, request: NetOutRequest) -> None:
        await self.networking.net_out(request)

    async def do_limit_bandwidth(self, request: LimitBandwidthRequest) -> LimitBandwidthResponse:
        return await self.networking.limit_bandwidth(request)

    # -- statistics --

    async def add_info(self, response: InfoResponse) -> None:
        await self.limits.add_info(response)
        response.bandwidth_stat.CopyFrom(await self.networking.bandwidth_stat())

    # -- recovery --

    def init_pid(self) -> int | None:
        """Host pid of the container's init, from ``run/init.pid`` (None if absent)."""
        # os.read, not open(): every job start reads it.
        try:
            fd = os.open(
                os.path.join(self.container_path, "run", "init.pid"), os.O_RDONLY | os.O_CLOEXEC
            )
        except OSError:
            return None
        try:
            return int(os.read(fd, 64).strip())
        except (OSError, ValueError):
            return None
        finally:
            os.close(fd)

    def is_alive(self) -> bool:
        pid = self.init_pid()
        return pid is not None and self.cgroups.contains(pid)

    async def restore(self) -> None:
        self._watch_init()
        await self.limits.restore()
        # Host setup at this start dropped every container's chains.
        await self.networking.restore()
