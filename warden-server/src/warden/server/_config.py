# -*- test-case-name: tests.test_config -*-
"""The server configuration: a YAML file with the original's keys and defaults.

Sections ``server``, ``health_check_server``, ``logging``, ``network``, ``port``
and ``user`` are each shallow-merged over their defaults, then every known key
is checked. Unknown keys are accepted (as the original did) and stay available
to backends through ``Config.raw``. Any invalid value raises ``ConfigError``
naming the key and what was expected; the server then stops at start.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from ._errors import ConfigError
from ._security import parse_capabilities

__all__ = [
    "BACKEND_NAMES",
    "LOG_LEVELS",
    "RLIMIT_NAMES",
    "Config",
    "HealthCheckConfig",
    "LoggingConfig",
    "NetworkConfig",
    "PortConfig",
    "ServerConfig",
    "UserConfig",
    "default_root_scripts_path",
    "load_config",
    "parse_config",
]

#: Resource limits a job may set, in the original's order (ResourceLimits fields).
RLIMIT_NAMES: Final = (
    "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
    "nice", "nofile", "nproc", "rss", "rtprio", "sigpending", "stack",
)  # fmt: skip

#: Log levels, least to most verbose (the original's steno levels).
LOG_LEVELS: Final = ("off", "fatal", "error", "warn", "info", "debug", "debug1", "debug2", "all")

#: ``container_klass`` spellings -> backend name.
BACKEND_NAMES: Final = {
    "warden::container::linux": "linux",
    "warden::container::insecure": "insecure",
    "linux": "linux",
    "insecure": "insecure",
}

_SYSTEM_ROOT_SCRIPTS: Final = "/usr/share/warden/root-scripts"


def default_root_scripts_path() -> str:
    """The repository's ``root-scripts`` when running from a checkout, else the system copy."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "root-scripts"
        if candidate.is_dir():
            return str(candidate)
    return _SYSTEM_ROOT_SCRIPTS


@dataclass(frozen=True)
class ServerConfig:
    """``server``: the socket, the backend, paths, limits (D1) and our additions."""

    unix_domain_path: str = "/tmp/warden.sock"
    unix_domain_permissions: int = 0o755
    container_klass: str = "insecure"
    container_grace_time: int | None = 300
    container_rootfs_path: str = "/var/lib/warden/rootfs"
    container_depot_path: str = "/var/lib/warden/containers"
    container_rlimits: Mapping[str, int] = field(default_factory=dict)
    job_output_limit: int = 10 * 1024 * 1024
    #: Ours: the largest request frame a client may send (bytes). Nothing in a
    #: request carries file data (copies name paths), so only a script that
    #: embeds data comes near it; what a connection can hold unanswered.
    request_size_limit: int = 16 * 1024 * 1024
    #: Ours: the unix socket's accept queue (the kernel caps it at
    #: net.core.somaxconn); Twisted's default of 50 refuses a burst of clients.
    listen_backlog: int = 1024
    disk_quota_enabled: bool = True
    allow_nested_warden: bool = False
    pidfile: str | None = None
    syslog_socket: str | None = None
    root_scripts_path: str = field(default_factory=default_root_scripts_path)
    cgroup_parent: str = "warden"
    container_pids_limit: int | None = None
    disk_limit_backend: str | None = None
    #: Ours, Linux (``_security.py``): what a privileged job keeps of root's powers.
    privileged_capabilities: tuple[str, ...] = ("default",)
    privileged_no_new_privs: bool = True
    seccomp: bool = True
    restrict_proc_sys: bool = True


@dataclass(frozen=True)
class HealthCheckConfig:
    """``health_check_server`` (D2); port 0 picks a free port."""

    port: int = 2345


@dataclass(frozen=True)
class LoggingConfig:
    """``logging`` (D3) plus ``json``: one JSON object per line."""

    level: str = "debug2"
    file: str | None = None
    syslog: str | None = None
    json: bool = False


@dataclass(frozen=True)
class NetworkConfig:
    """``network`` (D4)."""

    pool_network: str = "10.254.0.0/24"
    release_delay: float = 5.0
    mtu: int = 1500
    allow_networks: tuple[str, ...] = ()
    #: Ours: networks no container may reach, whatever allow_networks or NetOut say.
    deny_networks: tuple[str, ...] = ()
    allow_host_access: bool = False
    dns_servers: tuple[str, ...] = ()


@dataclass(frozen=True)
class PortConfig:
    """``port`` (D5): the pool of host ports handed out by net_in."""

    pool_start_port: int
    pool_size: int


@dataclass(frozen=True)
class UserConfig:
    """``user`` (D6): the pool of container uids."""

    pool_start_uid: int = 10000
    pool_size: int = 64


@dataclass(frozen=True)
class Config:
    """The whole validated configuration; ``raw`` holds the merged sections as read."""

    server: ServerConfig
    health_check_server: HealthCheckConfig
    logging: LoggingConfig
    network: NetworkConfig
    port: PortConfig
    user: UserConfig
    raw: Mapping[str, Mapping[str, Any]]

    @property
    def backend(self) -> str:
        """``linux`` or ``insecure``."""
        return self.server.container_klass

    def to_dict(self) -> dict[str, Any]:
        """What gets logged at start (the health section is left out, as the original did)."""
        out: dict[str, Any] = {}
        for name in ("server", "logging", "network", "port", "user"):
            section = getattr(self, name)
            out[name] = {k: _plain(v) for k, v in vars(section).items()}
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a YAML configuration file."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ConfigError(f"cannot read configuration {os.fspath(path)}: {error}") from error
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"configuration {os.fspath(path)} is not valid YAML: {error}") from error
    return parse_config(data)


def parse_config(data: Any) -> Config:
    """Validate already-parsed YAML (a mapping, or None for an empty file)."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"configuration: expected a mapping of sections, got {_show(data)}")
    sections: dict[str, dict[str, Any]] = {}
    for name in ("server", "health_check_server", "logging", "network", "port", "user"):
        section = data.get(name)
        if section is None:
            section = {}
        if not isinstance(section, Mapping):
            raise ConfigError(f"{name}: expected a mapping, got {_show(section)}")
        sections[name] = dict(section)
    return Config(
        server=_server(sections["server"]),
        health_check_server=HealthCheckConfig(
            port=_port_number(
                "health_check_server.port", sections["health_check_server"].get("port", 2345)
            )
        ),
        logging=_logging(sections["logging"]),
        network=_network(sections["network"]),
        port=_port(sections["port"]),
        user=_user(sections["user"]),
        raw=sections,
    )


# -- value checks: each takes the dotted key (for the message) and the value --


def _show(value: Any) -> str:
    if value is None:
        return "null"
    return f"{type(value).__name__} {value!r}"


def _integer(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected an integer, got {_show(value)}")
    return value


def _non_negative(key: str, value: Any) -> int:
    number = _integer(key, value)
    if number < 0:
        raise ConfigError(f"{key}: expected a non-negative integer, got {number}")
    return number


def _at_least(key: str, value: Any, minimum: int) -> int:
    number = _integer(key, value)
    if number < minimum:
        raise ConfigError(f"{key}: expected an integer of at least {minimum}, got {number}")
    return number


def _optional_integer(key: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected an integer or null, got {_show(value)}")
    return _non_negative(key, value)


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: expected a non-empty string, got {_show(value)}")
    return value


def _optional_string(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string or null, got {_show(value)}")
    return value or None


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {_show(value)}")
    return value


def _boolean_or_default(key: str, value: Any, default: bool) -> bool:
    """true or false; null (the key given without a value) keeps the default."""
    return default if value is None else _boolean(key, value)


def _string_list(key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{key}: expected a list of strings, got {_show(value)}")
    out = []
    for index, item in enumerate(value):
        if item is None:  # the original dropped nil entries
            continue
        if not isinstance(item, str):
            raise ConfigError(f"{key}[{index}]: expected a string, got {_show(item)}")
        out.append(item)
    return tuple(out)


def _port_number(key: str, value: Any) -> int:
    number = _integer(key, value)
    if not 0 <= number <= 65535:
        raise ConfigError(f"{key}: expected a port number 0..65535, got {number}")
    return number


def _merged(section: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with the given keys; a key given as null keeps null."""
    return {**defaults, **section}


def _server(section: dict[str, Any]) -> ServerConfig:
    default = ServerConfig()
    values = _merged(section, {k: getattr(default, k) for k in vars(default)})
    key = "server.container_klass"
    klass = _string(key, values["container_klass"])
    backend = BACKEND_NAMES.get(klass.lower())
    if backend is None:
        raise ConfigError(
            f"{key}: expected Warden::Container::Linux, Warden::Container::Insecure, "
            f"linux or insecure, got {klass!r}"
        )
    permissions = _integer("server.unix_domain_permissions", values["unix_domain_permissions"])
    if not 0 <= permissions <= 0o7777:
        raise ConfigError(
            f"server.unix_domain_permissions: expected a file mode such as 0755, got {permissions}"
        )
    quota = section.get("quota", {"disk_quota_enabled": True})
    if quota is None:
        quota = {}
    if not isinstance(quota, Mapping):
        raise ConfigError(f"server.quota: expected a mapping, got {_show(quota)}")
    quota_enabled = quota.get("disk_quota_enabled", True)
    quota_enabled = True if quota_enabled is None else quota_enabled
    rootfs = values["container_rootfs_path"]
    depot = values["container_depot_path"]
    root_scripts = values["root_scripts_path"]
    return ServerConfig(
        unix_domain_path=_string("server.unix_domain_path", values["unix_domain_path"]),
        unix_domain_permissions=permissions,
        container_klass=backend,
        container_grace_time=_optional_integer(
            "server.container_grace_time", values["container_grace_time"]
        ),
        container_rootfs_path=default.container_rootfs_path
        if rootfs is None
        else _string("server.container_rootfs_path", rootfs),
        container_depot_path=default.container_depot_path
        if depot is None
        else _string("server.container_depot_path", depot),
        container_rlimits=_rlimits("server.container_rlimits", values["container_rlimits"]),
        job_output_limit=_non_negative("server.job_output_limit", values["job_output_limit"]),
        request_size_limit=_at_least(
            "server.request_size_limit", values["request_size_limit"], 1024
        ),
        listen_backlog=_at_least("server.listen_backlog", values["listen_backlog"], 1),
        disk_quota_enabled=_boolean("server.quota.disk_quota_enabled", quota_enabled),
        allow_nested_warden=_boolean("server.allow_nested_warden", values["allow_nested_warden"]),
        pidfile=_optional_string("server.pidfile", values["pidfile"]),
        syslog_socket=_optional_string("server.syslog_socket", values["syslog_socket"]),
        root_scripts_path=default.root_scripts_path
        if root_scripts is None
        else _string("server.root_scripts_path", root_scripts),
        cgroup_parent=_string("server.cgroup_parent", values["cgroup_parent"]),
        container_pids_limit=_optional_integer(
            "server.container_pids_limit", values["container_pids_limit"]
        ),
        disk_limit_backend=_optional_string(
            "server.disk_limit_backend", values["disk_limit_backend"]
        ),
        privileged_capabilities=parse_capabilities(
            "server.privileged_capabilities", values["privileged_capabilities"]
        ),
        privileged_no_new_privs=_boolean_or_default(
            "server.privileged_no_new_privs", values["privileged_no_new_privs"], True
        ),
        seccomp=_boolean_or_default("server.seccomp", values["seccomp"], True),
        restrict_proc_sys=_boolean_or_default(
            "server.restrict_proc_sys", values["restrict_proc_sys"], True
        ),
    )


def _rlimits(key: str, value: Any) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: expected a mapping of resource limits, got {_show(value)}")
    out: dict[str, int] = {}
    for name, limit in value.items():
        if name not in RLIMIT_NAMES:
            raise ConfigError(
                f"{key}.{name}: unknown resource limit (expected one of {', '.join(RLIMIT_NAMES)})"
            )
        if limit is None:
            continue
        out[name] = _non_negative(f"{key}.{name}", limit)
    return out


def _logging(section: dict[str, Any]) -> LoggingConfig:
    level = section.get("level", "debug2")
    if not isinstance(level, str) or level.lower() not in LOG_LEVELS:
        raise ConfigError(
            f"logging.level: expected one of {', '.join(LOG_LEVELS)}, got {_show(level)}"
        )
    return LoggingConfig(
        level=level.lower(),
        file=_optional_string("logging.file", section.get("file")),
        syslog=_optional_string("logging.syslog", section.get("syslog")),
        json=_boolean("logging.json", section.get("json", False)),
    )


def _network(section: dict[str, Any]) -> NetworkConfig:
    values = dict(section)
    start, size = values.get("pool_start_address"), values.get("pool_size")
    if start is not None and size is not None:
        # The original's legacy form: a start address and a number of containers.
        size = _integer("network.pool_size", size)
        if size < 1:
            raise ConfigError(f"network.pool_size: expected a positive integer, got {size}")
        prefix = 32 - (math.ceil(math.log2(size)) + 2)
        values["pool_network"] = f"{_string('network.pool_start_address', start)}/{prefix}"
    pool_network = values.get("pool_network")
    if pool_network is None:
        pool_network = "10.254.0.0/24"
    pool_network = _string("network.pool_network", pool_network)
    try:
        ipaddress.IPv4Network(pool_network, strict=False)
        if "/" not in pool_network:
            raise ValueError(pool_network)
    except ValueError:
        raise ConfigError(
            f"network.pool_network: expected an address/netmask such as 10.254.0.0/24, "
            f"got {pool_network!r}"
        ) from None
    delay = values.get("release_delay")
    mtu = values.get("mtu")
    return NetworkConfig(
        pool_network=pool_network,
        release_delay=5.0
        if delay is None
        else float(_non_negative("network.release_delay", delay)),
        mtu=1500 if mtu is None else _integer("network.mtu", mtu),
        allow_networks=_network_list("network.allow_networks", values.get("allow_networks", [])),
        deny_networks=_network_list("network.deny_networks", values.get("deny_networks", [])),
        allow_host_access=_boolean(
            "network.allow_host_access", values.get("allow_host_access") or False
        ),
        dns_servers=_string_list("network.dns_servers", values.get("dns_servers", [])),
    )


def _network_list(key: str, value: Any) -> tuple[str, ...]:
    """Addresses or CIDR networks, as the host firewall's iptables rules take them."""
    networks = _string_list(key, value)
    for index, network in enumerate(networks):
        try:
            ipaddress.IPv4Network(network, strict=False)
        except ValueError:
            raise ConfigError(
                f"{key}[{index}]: expected an IPv4 address or network such as 10.0.0.0/8, "
                f"got {network!r}"
            ) from None
    return networks


def _ephemeral_upper() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 61000


def _port(section: dict[str, Any]) -> PortConfig:
    start = section.get("pool_start_port")
    start = _ephemeral_upper() + 1 if start is None else _port_number("port.pool_start_port", start)
    size = section.get("pool_size")
    size = 65001 - start if size is None else _integer("port.pool_size", size)
    if size < 1000:
        raise ConfigError(
            f"port.pool_size: Insufficient non-ephemeral ports available "
            f"(expected >= 1000, got: {size})"
        )
    if start + size - 1 > 65535:
        raise ConfigError(
            f"port.pool_size: the pool {start}..{start + size - 1} goes past port 65535"
        )
    return PortConfig(pool_start_port=start, pool_size=size)


def _user(section: dict[str, Any]) -> UserConfig:
    start = section.get("pool_start_uid", 10000)
    size = section.get("pool_size", 64)
    return UserConfig(
        pool_start_uid=_non_negative("user.pool_start_uid", 10000 if start is None else start),
        pool_size=_non_negative("user.pool_size", 64 if size is None else size),
    )
