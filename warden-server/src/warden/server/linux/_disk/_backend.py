"""What a disk-limit backend does for one container, and the backend that does nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ._request import DiskLimits

__all__ = [
    "CommandResult",
    "DiskBackend",
    "DiskLimitError",
    "DiskUsage",
    "NoDiskLimit",
    "RunCommand",
]


class DiskLimitError(Exception):
    """A disk limit could not be set or read; ``message`` says why, for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DiskUsage:
    """Info's disk_stat: what the container's files take."""

    bytes_used: int
    inodes_used: int


class CommandResult(Protocol):
    """How a command ended (the server's ``ScriptResult``)."""

    @property
    def exit_code(self) -> int: ...

    @property
    def stdout(self) -> bytes: ...

    @property
    def stderr(self) -> bytes: ...


class RunCommand(Protocol):
    """The server's one funnel for processes (``_scripts.run_script``)."""

    def __call__(
        self, argv: Sequence[str], *, env: Mapping[str, object] | None = ..., check: bool = ...
    ) -> Awaitable[CommandResult]: ...


class DiskBackend(Protocol):
    """Disk limits and usage of one container.

    ``enabled`` False means limits are off (``quota.disk_quota_enabled: false``
    or ``disk_limit_backend: none``): LimitDisk answers nothing and Info has no
    disk_stat, as the original with quotas disabled.
    """

    enabled: bool

    async def prepare(self) -> None:
        """At create, before the container starts: no limits yet."""

    async def limits(self) -> DiskLimits:
        """The limits in force."""
        ...

    async def apply(self, limits: DiskLimits) -> None:
        """Enforce ``limits``; raises ``DiskLimitError`` (for example below current use)."""

    async def usage(self) -> DiskUsage:
        """What the container's files take now."""
        ...

    async def destroy(self) -> None:
        """Remove what ``prepare`` made; safe to repeat."""

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready state to find the limits again after a server restart."""
        ...

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back the state ``snapshot`` returned."""


class NoDiskLimit:
    """Disk limits switched off: nothing is enforced or measured."""

    enabled = False

    async def prepare(self) -> None:
        return None

    async def limits(self) -> DiskLimits:
        return DiskLimits()

    async def apply(self, limits: DiskLimits) -> None:
        return None

    async def usage(self) -> DiskUsage:
        return DiskUsage(0, 0)

    async def destroy(self) -> None:
        return None

    def snapshot(self) -> dict[str, Any]:
        return {}

    def restore(self, data: Mapping[str, Any]) -> None:
        return None
