"""Resource limits and statistics of one Linux container: the collaborator ``_container.py`` calls.

``LimitsSettings`` is read once from the configuration; ``ContainerLimits``
serves one container: LimitMemory (and OOM notification), LimitCpu, LimitDisk,
the pids limit, Info's memory, cpu and disk statistics, and recovery after a
restart. It records what it applied in the container's ``resources`` (saved in
the snapshot, as the original's ``limit_memory`` and ``limit_cpu``), so
``restore`` can apply it again.

The container calls, in its life: ``create`` (before it starts: the disk
layer), ``started`` (its cgroups exist: the pids limit), the request methods,
``stopped`` (after a stop: OOM watching ends, as the original killed its
notifier), ``destroy`` (the disk layer goes), and after a server restart
``restore``. Nothing here starts a Python interpreter; cgroup files are read
and written in the server process, disk work runs ``disk.sh`` through the
server's script funnel.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from warden.protocol import (
    InfoResponse,
    LimitCpuRequest,
    LimitCpuResponse,
    LimitDiskRequest,
    LimitDiskResponse,
    LimitMemoryRequest,
    LimitMemoryResponse,
)

from .._config import DEFAULT_IMAGE_INODES, DEFAULT_PIDS_LIMIT, DISK_BACKENDS, Config
from .._errors import WardenError
from ._disk import (
    DiskBackend,
    DiskLimitError,
    KernelQuota,
    LoopDisk,
    LoopDiskPaths,
    NoDiskLimit,
    Quotactl,
    QuotaDisk,
    RunCommand,
    fill_response,
    parse_values,
    project_quota_supported,
    requested_limits,
)
from .cgroups import (
    DEFAULT_SHARES,
    ContainerCgroup,
    FileWatcher,
    OomWatch,
    container_cgroup,
)

__all__ = [
    "DEFAULT_IMAGE_INODES",
    "DEFAULT_PIDS_LIMIT",
    "DISK_BACKENDS",
    "ContainerLimits",
    "LimitsSettings",
]

_MEMORY_STAT_FIELDS = frozenset(f.name for f in InfoResponse.MemoryStat.DESCRIPTOR.fields)


@dataclass(frozen=True)
class LimitsSettings:
    """What the configuration says about limits (see ``from_config`` for the keys).

    No defaults here but the detected cgroup version: the configuration schema
    (``_config.py``) holds every default.
    """

    cgroup_parent: str
    cgroup_root: Path
    pids_limit: int | None
    disk_backend: str
    disk_script: Path
    depot_path: Path
    disk_image_size: int | None
    disk_image_inodes: int
    cgroup_version: int | None = None
    disk_project_quota: bool = False

    @classmethod
    def from_config(cls, config: Config) -> LimitsSettings:
        """Read the settings from the validated configuration (its schema checks the keys).

        - ``server.cgroup_parent``: the cgroup that holds ``instance-<id>``;
        - ``server.container_pids_limit``: tasks per container (default 1024, 0: none);
        - ``server.disk_limit_backend``: ``loop`` (default), ``quota`` or ``none``;
          ``server.quota.disk_quota_enabled: false`` turns disk limits off whatever it says;
        - ``server.disk_image_size``: bytes of a new container's disk image
          (default: the size of the depot's file system; sparse, so free until used);
        - ``server.disk_image_inodes``: inodes of a new image (default 200000);
        - ``server.cgroup_root``: where the cgroup hierarchies are (default /sys/fs/cgroup).

        ``disk_project_quota`` is not configured: it is what host setup detected
        (``detect_project_quota``), for the images made from now on.

        Equal settings come back as one object: every container keeps one.
        """
        server = config.server
        return _shared_settings(
            cls(
                cgroup_parent=server.cgroup_parent,
                cgroup_root=Path(server.cgroup_root),
                pids_limit=server.container_pids_limit or None,
                disk_backend=server.disk_limit_backend if server.disk_quota_enabled else "none",
                disk_script=Path(server.root_scripts_path) / "linux" / "disk.sh",
                depot_path=Path(server.container_depot_path),
                disk_image_size=server.disk_image_size,
                disk_image_inodes=server.disk_image_inodes or DEFAULT_IMAGE_INODES,
                disk_project_quota=project_quota_supported(),
            )
        )

    def image_size(self) -> int:
        """Bytes of a new disk image: as configured, else the depot file system's size."""
        if self.disk_image_size:
            return self.disk_image_size
        stat = os.statvfs(self.depot_path)
        return stat.f_blocks * stat.f_frsize


@lru_cache(maxsize=8)
def _shared_settings(settings: LimitsSettings) -> LimitsSettings:
    """The first of equal settings (frozen, so any of them will do)."""
    return settings


class ContainerLimits:
    """One container's limits and statistics (see the module docstring)."""

    log = Logger(namespace="warden.server.limits")

    def __init__(
        self,
        settings: LimitsSettings,
        *,
        container_id: str,
        container_path: str | Path,
        uid: int,
        resources: MutableMapping[str, Any],
        reactor: Any,
        files: FileWatcher,
        run: RunCommand,
        on_oom: Callable[[], None],
        quota: Quotactl | None = None,
    ) -> None:
        """``resources`` is the container's snapshot dict; ``on_oom`` runs in the reactor."""
        self.settings = settings
        #: A string, not a Path: one is kept per live container.
        self.container_path = os.fspath(container_path)
        self.cgroup: ContainerCgroup = container_cgroup(
            container_id,
            settings.cgroup_parent,
            root=settings.cgroup_root,
            version=settings.cgroup_version,
        )
        self.disk = self._disk_backend(uid, run, quota)
        self._resources = resources
        self._reactor = reactor
        self._files = files
        self._on_oom = on_oom
        self._oom_watch: OomWatch | None = None
        # One disk change at a time: two would both size the same ballast
        # (made by the first LimitDisk: most containers never see one).
        self._disk_lock: defer.DeferredLock | None = None

    def _disk_backend(self, uid: int, run: RunCommand, quota: Quotactl | None) -> DiskBackend:
        settings = self.settings
        if settings.disk_backend == "loop":
            return LoopDisk(
                # start.sh moves setup.sh's files into the image (no mount at create).
                paths=LoopDiskPaths.for_container(self.container_path, seed_at_start=True),
                script=settings.disk_script,
                run=run,
                image_size=settings.image_size(),
                image_inodes=settings.disk_image_inodes,
                live_root=self._live_root,
                project_quota=settings.disk_project_quota,
            )
        if settings.disk_backend == "quota":
            return QuotaDisk(uid=uid, depot_path=settings.depot_path, quota=quota or KernelQuota())
        return NoDiskLimit()

    def _live_root(self) -> Path | None:
        """``/proc/<init>/root`` while the container's init runs (checked by cgroup, not pid)."""
        # os.read, not read_text(): Info asks at every Run.
        try:
            fd = os.open(
                os.path.join(self.container_path, "run", "init.pid"), os.O_RDONLY | os.O_CLOEXEC
            )
        except OSError:
            return None
        try:
            pid = int(os.read(fd, 64))
        except (OSError, ValueError):
            return None
        finally:
            os.close(fd)
        return Path(f"/proc/{pid}/root") if self.cgroup.contains_process(pid) else None

    # -- life cycle --

    def create_env(self) -> dict[str, str]:
        """What ``create.sh`` needs to make the disk layer itself (``loop`` disk limits:
        disk.sh's create, sourced, so no bash of its own); empty: ``create`` makes it."""
        return self.disk.create_env() if isinstance(self.disk, LoopDisk) else {}

    async def create(self, create_output: bytes | None = None) -> None:
        """Before the container starts: its disk layer (the image its upper layer lives on).

        ``create_output``: ``create.sh``'s stdout when it was given ``create_env()``
        (it made the image and printed disk.sh's values); else the image is made here.
        """
        try:
            if create_output is not None and isinstance(self.disk, LoopDisk):
                self.disk.created(parse_values(create_output))
            else:
                await self.disk.prepare()
        except (DiskLimitError, OSError) as problem:
            raise WardenError(f"Failed preparing the disk limit: {_reason(problem)}") from problem
        self._resources["disk"] = self.disk.snapshot()

    def started(self) -> None:
        """The container's cgroups exist and nothing of the user's runs yet: the pids limit,
        and the default cpu shares (v2 reads them back from a weight many shares map to)."""
        try:
            self.cgroup.set_pids_limit(self.settings.pids_limit)
        except (OSError, ValueError) as problem:
            raise WardenError(f"Failed setting pids limit: {problem}") from problem
        try:
            self.cgroup.set_cpu_shares(DEFAULT_SHARES)
        except (OSError, ValueError) as problem:
            raise WardenError(f"Failed setting cpu shares: {problem}") from problem

    def stopped(self) -> None:
        """After a stop: no more OOM watching."""
        watch, self._oom_watch = self._oom_watch, None
        if watch is not None:
            watch.stop()

    async def destroy(self) -> None:
        """Remove the disk layer (its loop device goes with the container's last mount)."""
        self.stopped()
        try:
            await self.disk.destroy()
        except (DiskLimitError, OSError) as problem:
            raise WardenError(f"Failed removing the disk layer: {_reason(problem)}") from problem

    def destroy_by_script(self) -> Mapping[str, str] | None:
        """Stop the OOM watching and give the environment under which the root
        ``destroy.sh`` removes the disk layer itself (``DISK_SCRIPT``,
        ``DISK_IMAGE``, ``DISK_MOUNT``); None when the layer has no script work
        there (``destroy`` is then awaited as before)."""
        if not isinstance(self.disk, LoopDisk):
            return None
        self.stopped()
        return self.disk.destroy_env()

    async def restore(self) -> None:
        """After a server restart: apply the recorded limits again, watch for OOM again."""
        self.disk.restore(self._resources.get("disk") or {})
        try:
            self.cgroup.set_pids_limit(self.settings.pids_limit)
            if "limit_memory" in self._resources:
                self._apply_memory_limit(int(self._resources["limit_memory"]))
            self.cgroup.set_cpu_shares(int(self._resources.get("limit_cpu", DEFAULT_SHARES)))
        except (OSError, ValueError) as problem:
            raise WardenError(f"Failed restoring limits: {problem}") from problem

    # -- requests --

    async def limit_memory(self, request: LimitMemoryRequest) -> LimitMemoryResponse:
        """LimitMemory: set when given, answer the limit the kernel holds."""
        if request.HasField("limit_in_bytes"):
            try:
                self._apply_memory_limit(request.limit_in_bytes)
            except OSError as problem:
                if problem.errno == errno.EBUSY:  # the kernel could not reclaim enough
                    raise WardenError(self._below_usage(request.limit_in_bytes)) from problem
                raise WardenError(f"Failed setting memory limit: {problem}") from problem
            except ValueError as problem:
                raise WardenError(f"Failed setting memory limit: {problem}") from problem
            self._resources["limit_memory"] = request.limit_in_bytes
        try:
            return LimitMemoryResponse(limit_in_bytes=self.cgroup.memory_limit())
        except (OSError, ValueError) as problem:
            raise WardenError(f"Failed getting memory limit: {problem}") from problem

    def _below_usage(self, limit_in_bytes: int) -> str:
        message = f"Failed setting memory limit: the limit of {limit_in_bytes} bytes is below"
        try:
            stat = self.cgroup.memory_stat()
            used = stat.get("total_rss", 0) + stat.get("total_cache", 0)
        except (OSError, ValueError):
            return f"{message} what the container uses"
        return f"{message} the {used} bytes the container uses (memory and page cache)"

    def _apply_memory_limit(self, limit_in_bytes: int) -> None:
        # Watch before limiting, so no OOM can come between the two.
        if self._oom_watch is None or not self._oom_watch.active:
            self._oom_watch = self.cgroup.watch_oom(self._reactor, self._files, self._oomed)
        self.cgroup.set_memory_limit(limit_in_bytes)

    def _oomed(self) -> None:
        self.log.warn("OOM happened in {path}", path=self.container_path)
        self._on_oom()

    async def limit_cpu(self, request: LimitCpuRequest) -> LimitCpuResponse:
        """LimitCpu: set cpu shares when given, answer the kernel's value."""
        if request.HasField("limit_in_shares"):
            try:
                self.cgroup.set_cpu_shares(request.limit_in_shares)
            except (OSError, ValueError) as problem:
                raise WardenError(f"Failed setting cpu shares: {problem}") from problem
            self._resources["limit_cpu"] = request.limit_in_shares
        try:
            return LimitCpuResponse(limit_in_shares=self.cgroup.cpu_shares())
        except (OSError, ValueError) as problem:
            raise WardenError(f"Failed getting cpu shares: {problem}") from problem

    async def limit_disk(self, request: LimitDiskRequest) -> LimitDiskResponse:
        """LimitDisk: nothing when disk limits are off, else set and answer all 12 fields."""
        response = LimitDiskResponse()
        if not self.disk.enabled:
            return response
        if self._disk_lock is None:
            self._disk_lock = defer.DeferredLock()
        async with self._disk_lock:
            try:
                current = await self.disk.limits()
                await self.disk.apply(requested_limits(current, request))
                fill_response(await self.disk.limits(), response)
            except (DiskLimitError, OSError) as problem:
                raise WardenError(f"Failed setting disk limit: {_reason(problem)}") from problem
            finally:
                self._resources["disk"] = self.disk.snapshot()
        return response

    async def add_info(self, response: InfoResponse) -> None:
        """Info's memory_stat, cpu_stat and (when disk limits are on) disk_stat."""
        try:
            stat = self.cgroup.memory_stat()
        except (OSError, ValueError) as problem:
            raise WardenError(f"Failed getting memory usage: {problem}") from problem
        known = {name: value for name, value in stat.items() if name in _MEMORY_STAT_FIELDS}
        response.memory_stat.CopyFrom(InfoResponse.MemoryStat(**known))
        try:
            cpu = self.cgroup.cpu_usage()
        except (OSError, ValueError) as problem:
            raise WardenError(f"Failed getting cpu stats: {problem}") from problem
        response.cpu_stat.CopyFrom(
            InfoResponse.CpuStat(usage=cpu.usage, user=cpu.user, system=cpu.system)
        )
        if self.disk.enabled:
            try:
                usage = await self.disk.usage()
            except (DiskLimitError, OSError, ValueError) as problem:
                raise WardenError(f"Failed getting disk usage: {_reason(problem)}") from problem
            response.disk_stat.CopyFrom(
                InfoResponse.DiskStat(bytes_used=usage.bytes_used, inodes_used=usage.inodes_used)
            )


def _reason(problem: Exception) -> str:
    return problem.message if isinstance(problem, DiskLimitError) else str(problem)
