"""A private network namespace for benchmarks, created and removed by the harness."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

CONTROLLERS = ("cpu", "cpuacct", "memory", "devices", "pids", "freezer")


@contextmanager
def private_netns(prefix: str = "warden-bench") -> Iterator[str]:
    """Yield the name of a fresh network namespace (loopback up); remove it after."""
    name = f"{prefix}-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(
            ["nsenter", f"--net=/run/netns/{name}", "ip", "link", "set", "lo", "up"], check=True
        )
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def in_netns(name: str, argv: list[str]) -> list[str]:
    """argv run inside the namespace without hiding /sys (unlike `ip netns exec`)."""
    return ["nsenter", f"--net=/run/netns/{name}", *argv]


@contextmanager
def cgroup_parent(prefix: str = "warden-bench") -> Iterator[str]:
    """A fresh parent cgroup in each v1 controller; removed (must be empty) after."""
    name = f"{prefix}-{secrets.token_hex(3)}"
    for controller in CONTROLLERS:
        subprocess.run(["mkdir", f"/sys/fs/cgroup/{controller}/{name}"], check=True)
    try:
        yield name
    finally:
        for controller in CONTROLLERS:
            subprocess.run(["rmdir", f"/sys/fs/cgroup/{controller}/{name}"], check=False)
