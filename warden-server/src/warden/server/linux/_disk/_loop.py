"""Disk limits without kernel quotas: a size-limited writable layer per container.

The container's writable layer (the overlay's upper and work directories) is
an ext4 file system in a sparse image, ``<container>/tmp/disk.img``, mounted
on a loop device inside the container's mount namespace at
``<container>/tmp/rootfs`` (so ``tmp/rootfs/upper`` and ``tmp/rootfs/work``
are the overlay's). ``root-scripts/linux/disk.sh`` does the work; see its
header for how limits are enforced (a hidden ballast, the image grown only
past its size).

Where the kernel has ext4 project quotas (detected at server start, see
``_probe.py``), a new image is limited by its project quota instead: no
ballast, and ``df /`` in the container shows the byte limit as the size.
Each image remembers which way it is limited (its snapshot), whatever later
detections say.

Usage is read without starting any process: ``statvfs`` of the container's
root (an overlay reports its upper file system) while the container runs, the
image's superblock when it is stopped (the kernel writes the counters back
when the last mount goes). With a project quota, the overlay's ``statvfs``
reports the project's own use for a limited resource (bytes, inodes), and the
whole file system's for an unlimited one, less the base: the empty layout
but upper/ and work/, which belong to the project and count in its limit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ._backend import DiskLimitError, DiskUsage, RunCommand
from ._ext4 import read_ext4_counts
from ._request import DiskLimits

__all__ = ["LoopDisk", "LoopDiskPaths", "parse_values"]

#: disk.sh's exit statuses for a limit below the current use and a failed growth.
_EXIT_OVER_USE = 3
_EXIT_GROWTH = 4

#: The largest limits an ext4 image can honour (a 64-bit ext4 of 4 KiB
#: blocks holds 1 EiB and 2**32 - 1 inodes). Checked here: disk.sh's shell
#: arithmetic is 64-bit signed, and a larger value would wrap round to a
#: negative one (and, for inodes, a ballast without end).
MAX_BYTES = 2**60
MAX_INODES = 2**32 - 1

#: What ``disk.sh create`` prints (and ``created`` needs).
_CREATE_VALUES = (
    "base_bytes",
    "base_inodes",
    "ballast_bytes",
    "ballast_inodes",
    "overhead_blocks",
    "image_bytes",
)


@dataclass(frozen=True, slots=True)
class LoopDiskPaths:
    """Where a container's image lives and is mounted (fixed by the container layout).

    Holds the container's directory as a string; the paths are made when
    asked for (one of these is kept per live container).
    """

    #: The container's directory.
    container: str
    #: Whether the container's start moves its first files into the image
    #: (then ``seed`` is None).
    seed_at_start: bool = False
    #: Template images copied instead of making each new image (disk.sh's
    #: DISK_TEMPLATES); None: every image is made afresh. The depot's
    #: ``.disk-templates``: one object for every container of the depot.
    templates: Path | None = None

    @classmethod
    def for_container(
        cls, container_path: str | Path, *, seed_at_start: bool = False
    ) -> LoopDiskPaths:
        """``<container>/tmp/disk.img``, mounted at ``<container>/tmp/rootfs``.

        ``tmp/rootfs`` is also where the container's first files are written
        before the image exists; they move into the image's ``upper/``.
        Templates live in the depot's ``.disk-templates`` (a dot entry: not a
        container), on the same file system as the images (reflinks).
        ``seed_at_start``: those files stay until the container's start
        moves them in (the Linux backend's start does).
        """
        container = os.fspath(container_path)
        return cls(container, seed_at_start, _templates_in(Path(container).parent))

    @property
    def image(self) -> Path:
        """The image: ``<container>/tmp/disk.img``."""
        return Path(self.container, "tmp", "disk.img")

    @property
    def mount(self) -> Path:
        """Where it is mounted: ``<container>/tmp/rootfs``."""
        return Path(self.container, "tmp", "rootfs")

    @property
    def admin(self) -> Path:
        """disk.sh's own files for the image: ``<container>/tmp/disk-admin``."""
        return Path(self.container, "tmp", "disk-admin")

    @property
    def seed(self) -> Path | None:
        """Files moved into a new image's ``upper/`` by ``disk.sh create``; None:
        the container's start moves them (``warden-start``), so that a copy of
        a template needs no mount at create."""
        return None if self.seed_at_start else self.mount


@lru_cache(maxsize=8)
def _templates_in(depot: Path) -> Path:
    return depot / ".disk-templates"


@dataclass(frozen=True, slots=True)
class _State:
    """What the server remembers about an image (and snapshots)."""

    limits: DiskLimits = field(default_factory=DiskLimits)
    base_bytes: int = 0
    base_inodes: int = 0
    ballast_bytes: int = 0
    ballast_inodes: int = 0
    overhead_blocks: int = 0
    image_bytes: int = 0
    project_quota: bool = False


class LoopDisk:
    """A container's disk limits as a loop-mounted image (see the module docstring)."""

    enabled = True

    def __init__(
        self,
        *,
        paths: LoopDiskPaths,
        script: Path,
        run: RunCommand,
        image_size: int,
        image_inodes: int,
        live_root: Callable[[], Path | None],
        project_quota: bool = False,
    ) -> None:
        """``live_root`` gives the running container's root (``/proc/<init>/root``) or None;
        ``project_quota``: make the image limited by project quota (host support detected)."""
        self.paths = paths
        self._script = script
        self._run = run
        self._image_size = image_size
        self._image_inodes = image_inodes
        self._live_root = live_root
        self._project_quota = project_quota
        self._state = _State()

    # -- life cycle --

    async def prepare(self) -> None:
        env = self.create_env()
        values = await self._disk("create", self._new_state(), **env)
        self.created(values)

    def create_env(self) -> dict[str, str]:
        """``disk.sh create``'s environment for a new image (``create.sh`` takes it too)."""
        state = self._new_state()
        env: dict[str, object] = {
            **self._script_env(state),
            "DISK_SIZE": self._image_size,
            "DISK_INODES": self._image_inodes,
            **({"DISK_SEED": self.paths.seed} if self.paths.seed else {}),
            **({"DISK_TEMPLATES": self.paths.templates} if self.paths.templates else {}),
        }
        return {key: str(value) for key, value in env.items()}

    def created(self, values: Mapping[str, int]) -> None:
        """The new image, from ``disk.sh create``'s output (``parse_values``)."""
        missing = [key for key in _CREATE_VALUES if key not in values]
        if missing:
            raise DiskLimitError(f"disk.sh create printed no {', '.join(missing)}")
        state = self._new_state()
        self._state = self._updated(
            replace(state, base_bytes=values["base_bytes"], base_inodes=values["base_inodes"]),
            values,
        )

    def _new_state(self) -> _State:
        return _State(project_quota=self._project_quota)

    async def destroy(self) -> None:
        await self._disk("destroy", self._state, **self.destroy_env())

    def destroy_env(self) -> dict[str, str]:
        """What ``disk.sh destroy`` needs, for the root ``destroy.sh`` to run it
        itself (meanwhile with the kill) instead of the server before it."""
        return {
            "DISK_SCRIPT": str(self._script),
            "DISK_IMAGE": str(self.paths.image),
            "DISK_MOUNT": str(self.paths.mount),
        }

    def snapshot(self) -> dict[str, Any]:
        state = asdict(self._state)
        state["limits"] = asdict(self._state.limits)
        return state

    def restore(self, data: Mapping[str, Any]) -> None:
        values = dict(data)
        limits = DiskLimits(**values.pop("limits", {}))
        self._state = _State(limits=limits, **values)

    # -- limits --

    async def limits(self) -> DiskLimits:
        return self._state.limits

    async def apply(self, limits: DiskLimits) -> None:
        byte_limit = limits.byte_hard
        if byte_limit > MAX_BYTES:
            raise DiskLimitError(
                f"the requested limit of {byte_limit} bytes is more than a disk image "
                f"can hold ({MAX_BYTES} bytes)"
            )
        if limits.inode_hard > MAX_INODES:
            raise DiskLimitError(
                f"the requested limit of {limits.inode_hard} inodes is more than a disk "
                f"image can have ({MAX_INODES})"
            )
        old = self._state.limits
        if (limits.block_hard, limits.inode_hard) != (old.block_hard, old.inode_hard):
            usage = await self.usage()
            if 0 < byte_limit < usage.bytes_used:
                raise DiskLimitError(
                    f"the container uses {usage.bytes_used} bytes, "
                    f"more than the requested limit of {byte_limit} bytes"
                )
            if 0 < limits.inode_hard < usage.inodes_used:
                raise DiskLimitError(
                    f"the container uses {usage.inodes_used} inodes, "
                    f"more than the requested limit of {limits.inode_hard} inodes"
                )
            values = await self._disk(
                "limit",
                self._state,
                DISK_BYTES=byte_limit,
                DISK_INODES=limits.inode_hard,
                DISK_BASE_BYTES=self._state.base_bytes,
                DISK_BASE_INODES=self._state.base_inodes,
            )
            self._state = self._updated(self._state, values)
        # Soft limits have no kernel to warn at them: recorded and reported only.
        self._state = replace(self._state, limits=limits)

    # -- usage --

    async def usage(self) -> DiskUsage:
        state = self._state
        root = self._live_root()
        if root is not None:
            stat = os.statvfs(root)
            occupied = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
            inodes = stat.f_files - stat.f_ffree
            if state.project_quota:
                # The project's own numbers for a limited resource: no base to take off.
                return DiskUsage(
                    bytes_used=occupied
                    if state.limits.block_hard
                    else max(occupied - state.base_bytes, 0),
                    inodes_used=inodes
                    if state.limits.inode_hard
                    else max(inodes - state.base_inodes, 0),
                )
        else:
            counts = read_ext4_counts(self.paths.image)
            occupied = (
                counts.blocks - state.overhead_blocks - counts.free_blocks
            ) * counts.block_size
            inodes = counts.inodes - counts.free_inodes
        return DiskUsage(
            bytes_used=max(occupied - state.ballast_bytes - state.base_bytes, 0),
            inodes_used=max(inodes - state.ballast_inodes - state.base_inodes, 0),
        )

    # -- the script --

    @staticmethod
    def _updated(state: _State, values: Mapping[str, int]) -> _State:
        return replace(
            state,
            ballast_bytes=values["ballast_bytes"],
            ballast_inodes=values["ballast_inodes"],
            overhead_blocks=values["overhead_blocks"],
            image_bytes=values["image_bytes"],
        )

    async def _disk(self, step: str, state: _State, **env: object) -> dict[str, int]:
        """Run ``disk.sh step`` for an image in ``state``; its ``key=value`` output as integers."""
        full_env = {**self._script_env(state), **env}
        result = await self._run([str(self._script), step], env=full_env, check=False)
        if result.exit_code != 0:
            message = result.stderr.decode("utf-8", "replace").strip().splitlines()
            reason = message[-1].removeprefix("disk: ") if message else f"exit {result.exit_code}"
            if result.exit_code in (_EXIT_OVER_USE, _EXIT_GROWTH):
                raise DiskLimitError(reason)
            raise DiskLimitError(f"disk.sh {step} failed: {reason}")
        return parse_values(result.stdout)

    def _script_env(self, state: _State) -> dict[str, object]:
        return {
            "DISK_IMAGE": self.paths.image,
            "DISK_ADMIN": self.paths.admin,
            "DISK_PROJECT_QUOTA": int(state.project_quota),
        }


def parse_values(output: bytes) -> dict[str, int]:
    """``disk.sh``'s ``key=value`` lines as integers (other lines ignored)."""
    values: dict[str, int] = {}
    for line in output.decode("ascii", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and value.strip().lstrip("-").isdigit():
            values[key.strip()] = int(value)
    return values
