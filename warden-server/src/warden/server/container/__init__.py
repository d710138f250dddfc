"""Container backends: the base class and the backends by name."""

from __future__ import annotations

from .base import REQUEST_TABLE, Bracket, Container, State, Step

__all__ = ["REQUEST_TABLE", "Bracket", "Container", "State", "Step", "backend_class"]


def backend_class(name: str) -> type[Container]:
    """The container class for a backend name (``insecure`` or ``linux``)."""
    if name == "insecure":
        from .insecure import InsecureContainer

        return InsecureContainer
    if name == "linux":
        from ..linux import LinuxContainer

        return LinuxContainer
    raise ValueError(f"unknown backend {name!r}")
