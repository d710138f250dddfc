# -*- test-case-name: tests.test_config -*-
"""What a container's jobs may do: the hardening options of ``server``.

Each option trades safety for compatibility with the original warden, whose
privileged jobs were plain host root in the container's namespaces; the safe
value is the default (warden-server's README, "Security"):

- ``privileged_capabilities``: what a privileged (root) job keeps, as
  ``warden-exec --caps`` takes it: ``default`` (a bounded set: no module
  loading, raw I/O, clock, mounts, raw sockets, host-level admin), ``all``
  (the original), ``none``, or capability names, combinable
  (``default,net_admin`` or a YAML list);
- ``privileged_no_new_privs``: false lets root jobs gain privileges through
  setuid binaries and file capabilities;
- ``seccomp``: false leaves the syscall filter off for jobs and copies;
- ``restrict_proc_sys``: false gives containers the original's /proc (every
  file, writable to root) and no /sys.

The first three reach ``job.sh`` and ``copy.sh`` (then warden-exec) through
their environment; the last one reaches ``create.sh``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol

from ._errors import ConfigError

__all__ = [
    "CAPABILITY_NAMES",
    "CAPABILITY_SETS",
    "HardeningOptions",
    "entry_environment",
    "parse_capabilities",
]

#: Linux capability names as warden-exec knows them (``cap_`` prefix and case optional).
CAPABILITY_NAMES: Final = (
    "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid",
    "setuid", "setpcap", "linux_immutable", "net_bind_service", "net_broadcast",
    "net_admin", "net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio",
    "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
    "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write",
    "audit_control", "setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm",
    "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
)  # fmt: skip

#: Names of whole sets: warden-exec's bounded default, everything, nothing.
CAPABILITY_SETS: Final = ("default", "all", "none")


def _show(value: Any) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r}"


def parse_capabilities(key: str, value: Any) -> tuple[str, ...]:
    """``privileged_capabilities`` as a tuple of lower-case names (sets included).

    Accepts a string (comma-separated) or a list of strings; raises
    ConfigError naming the key and the first unknown entry.
    """
    if value is None:
        return ("default",)
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        items = [part for item in value for part in item.split(",")]
    else:
        raise ConfigError(
            f"{key}: expected default, all, none or capability names "
            f"(a string or a list of strings), got {_show(value)}"
        )
    names: list[str] = []
    for item in items:
        name = item.strip().lower()
        name = name.removeprefix("cap_")
        if name not in CAPABILITY_NAMES and name not in CAPABILITY_SETS:
            raise ConfigError(
                f"{key}: unknown capability {item.strip()!r} (expected default, all, none "
                f"or names such as chown, net_admin, cap_sys_time)"
            )
        if name not in names:
            names.append(name)
    if not names:
        raise ConfigError(f"{key}: expected default, all, none or capability names, got ''")
    return tuple(names)


class HardeningOptions(Protocol):
    """The hardening options as ``entry_environment`` reads them
    (``_config.ServerConfig`` has them; declared here because that module
    imports this one to parse them)."""

    @property
    def privileged_capabilities(self) -> tuple[str, ...]:
        """Capabilities a privileged job keeps."""

    @property
    def privileged_no_new_privs(self) -> bool:
        """Whether root jobs run with no_new_privs."""

    @property
    def seccomp(self) -> bool:
        """Whether the syscall filter is on."""


def entry_environment(server: HardeningOptions) -> Mapping[str, str]:
    """What ``job.sh`` and ``copy.sh`` pass on to warden-exec."""
    return {
        "PRIVILEGED_CAPS": ",".join(server.privileged_capabilities),
        "PRIVILEGED_NO_NEW_PRIVS": "true" if server.privileged_no_new_privs else "false",
        "SECCOMP": "true" if server.seccomp else "false",
    }
