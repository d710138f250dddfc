# -*- test-case-name: tests.test_config -*-
"""The server configuration: one schema, every key declared once.

Each section (``server``, ``health_check_server``, ``logging``, ``network``,
``port``, ``user``) is a frozen dataclass whose fields are the section's keys:
each field is declared with ``setting(kind, default, shown=...)``, which gives
its type, its default, its check (a ``Kind`` from ``_config_kinds``) and the
default as the README shows it. ``parse_config`` reads every section through
its dataclass: a missing key takes the default, null takes the default unless
the kind accepts null, an unknown section or key is refused, and a bad value
raises ``ConfigError`` on one line naming the dotted key. A few rules across
keys (the legacy network pool, the port pool) follow in ``_finish_*``.
``schema_rows()`` lists every key for the README's table (its test compares).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import yaml

from ._config_kinds import (
    BOOLEAN,
    CAPABILITIES,
    FILE_MODE,
    IPV4_NETWORK,
    NETWORK_LIST,
    NON_NEGATIVE,
    NON_NEGATIVE_SECONDS,
    OPTIONAL_NON_NEGATIVE,
    OPTIONAL_POSITIVE,
    OPTIONAL_STRING,
    PORT,
    RLIMIT_NAMES,
    STRING,
    STRING_LIST,
    Kind,
    choice,
    integer_range,
    rlimits,
    show,
)
from ._errors import ConfigError

__all__ = [
    "BACKEND_NAMES",
    "DEFAULT_IMAGE_INODES",
    "DEFAULT_PIDS_LIMIT",
    "DISK_BACKENDS",
    "LOG_LEVELS",
    "RLIMIT_NAMES",
    "Config",
    "HealthCheckConfig",
    "LoggingConfig",
    "NetworkConfig",
    "PortConfig",
    "SchemaRow",
    "ServerConfig",
    "UserConfig",
    "default_root_scripts_path",
    "load_config",
    "parse_config",
    "schema_rows",
]

#: Log levels, least to most verbose (the original's steno levels).
LOG_LEVELS: Final = ("off", "fatal", "error", "warn", "info", "debug", "debug1", "debug2", "all")

#: ``container_klass`` spellings (lower case) -> backend name.
BACKEND_NAMES: Final = {
    "warden::container::linux": "linux",
    "warden::container::insecure": "insecure",
    "linux": "linux",
    "insecure": "insecure",
}

#: How a Linux container's disk is limited (``server.disk_limit_backend``).
DISK_BACKENDS: Final = ("loop", "quota", "none")

#: Tasks a container may have unless ``server.container_pids_limit`` says otherwise
#: (0 there: no limit). Enough for real work, few enough that a fork bomb stays
#: a container's problem.
DEFAULT_PIDS_LIMIT: Final = 1024

#: Inodes of a new disk image (``server.disk_image_inodes``; 0 there means this).
DEFAULT_IMAGE_INODES: Final = 200_000

_SYSTEM_ROOT_SCRIPTS: Final = "/usr/share/warden/root-scripts"


def default_root_scripts_path() -> str:
    """The scripts installed with the package, else the checkout's ``root-scripts``
    (an editable install), else the system copy."""
    here = Path(__file__).resolve()
    packaged = here.parent / "root_scripts"
    if packaged.is_dir():
        return str(packaged)
    for parent in here.parents:
        candidate = parent / "root-scripts"
        if candidate.is_dir():
            return str(candidate)
    return _SYSTEM_ROOT_SCRIPTS


def _ephemeral_upper() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 61000


def _above_ephemeral() -> int:
    return _ephemeral_upper() + 1


# -- the schema --------------------------------------------------------------


@dataclass(frozen=True)
class _Setting:
    kind: Kind
    shown: str
    #: Where the key sits under its section, when not at the top (``quota.disk_quota_enabled``).
    path: tuple[str, ...] | None = None


def setting(
    kind: Kind,
    default: Any = None,
    *,
    shown: str,
    factory: Callable[[], Any] | None = None,
    path: tuple[str, ...] | None = None,
) -> Any:
    """Declare one key: its kind, its default (or ``factory``), its default as README shows it."""
    metadata = {"setting": _Setting(kind, shown, path)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


_LOG_LEVEL: Final = choice(LOG_LEVELS, name="log level")
_BACKEND: Final = choice(
    BACKEND_NAMES,
    name="backend",
    spelled="Warden::Container::Linux, Warden::Container::Insecure, linux or insecure",
)


@dataclass(frozen=True)
class ServerConfig:
    """``server``: the socket, the backend, paths, job limits and our additions."""

    unix_domain_path: str = setting(STRING, "/tmp/warden.sock", shown="`/tmp/warden.sock`")
    unix_domain_permissions: int = setting(FILE_MODE, 0o755, shown="`0755`")
    container_klass: str = setting(_BACKEND, "insecure", shown="`insecure`")
    container_grace_time: int | None = setting(OPTIONAL_NON_NEGATIVE, 300, shown="`300`")
    container_rootfs_path: str = setting(
        STRING, "/var/lib/warden/rootfs", shown="`/var/lib/warden/rootfs`"
    )
    container_depot_path: str = setting(
        STRING, "/var/lib/warden/containers", shown="`/var/lib/warden/containers`"
    )
    container_rlimits: Mapping[str, int] = setting(
        rlimits(RLIMIT_NAMES), factory=dict, shown="`{}`"
    )
    job_output_limit: int = setting(NON_NEGATIVE, 10 * 1024 * 1024, shown="`10485760`")
    #: The largest request frame a client may send (bytes). Nothing in a
    #: request carries file data (copies name paths), so only a script that
    #: embeds data comes near it; what a connection can hold unanswered.
    request_size_limit: int = setting(
        integer_range(1024, 2**31 - 1), 16 * 1024 * 1024, shown="`16777216`"
    )
    #: The unix socket's accept queue (the kernel caps it at
    #: net.core.somaxconn); Twisted's default of 50 refuses a burst of clients.
    listen_backlog: int = setting(integer_range(1, 65535), 1024, shown="`1024`")
    #: Container properties (an extension): the longest key and value, in
    #: UTF-8 bytes, and how many one container may hold.
    property_key_limit: int = setting(integer_range(1, 65536), 128, shown="`128`")
    property_value_limit: int = setting(integer_range(1, 1024 * 1024), 4096, shown="`4096`")
    properties_per_container: int = setting(integer_range(0, 65536), 64, shown="`64`")
    disk_quota_enabled: bool = setting(
        BOOLEAN, True, shown="`true`", path=("quota", "disk_quota_enabled")
    )
    allow_nested_warden: bool = setting(BOOLEAN, False, shown="`false`")
    pidfile: str | None = setting(OPTIONAL_STRING, None, shown="none")
    syslog_socket: str | None = setting(OPTIONAL_STRING, None, shown="none (`/dev/log`)")
    root_scripts_path: str = setting(
        STRING,
        factory=default_root_scripts_path,
        shown="the scripts installed with the package (`warden/server/root_scripts`), else the "
        "checkout's `root-scripts` (editable install), else `/usr/share/warden/root-scripts`",
    )
    cgroup_parent: str = setting(STRING, "warden", shown="`warden`")
    cgroup_root: str = setting(STRING, "/sys/fs/cgroup", shown="`/sys/fs/cgroup`")
    container_pids_limit: int = setting(NON_NEGATIVE, DEFAULT_PIDS_LIMIT, shown="`1024`")
    disk_limit_backend: str = setting(choice(DISK_BACKENDS), "loop", shown="`loop`")
    #: None: the size of the depot's file system.
    disk_image_size: int | None = setting(NON_NEGATIVE, None, shown="the depot file system's size")
    disk_image_inodes: int = setting(NON_NEGATIVE, DEFAULT_IMAGE_INODES, shown="`200000`")
    #: What a privileged job keeps of root's powers (``_security.py``).
    privileged_capabilities: tuple[str, ...] = setting(
        CAPABILITIES, ("default",), shown="`default`"
    )
    privileged_no_new_privs: bool = setting(BOOLEAN, True, shown="`true`")
    seccomp: bool = setting(BOOLEAN, True, shown="`true`")
    restrict_proc_sys: bool = setting(BOOLEAN, True, shown="`true`")
    #: Idle containers made in advance, which a Create with default options
    #: takes at once (``_warm_pool.py``); 0: none.
    container_pool_size: int = setting(NON_NEGATIVE, 0, shown="`0`")
    #: Whether a clean exit (drain, SIGTERM, SIGINT) destroys the idle pooled
    #: containers; false keeps them for the next start.
    container_pool_destroy_on_shutdown: bool = setting(BOOLEAN, True, shown="`true`")
    #: The reactor's thread (only it) under SCHED_RR at priority 1, reset on
    #: fork: a burst of scripts then never holds a client's answer back
    #: waiting for a CPU (``_spawn.make_reactor_realtime``).
    reactor_realtime: bool = setting(BOOLEAN, False, shown="`false`")


@dataclass(frozen=True)
class HealthCheckConfig:
    """``health_check_server``; port 0 picks a free port."""

    port: int = setting(PORT, 2345, shown="`2345`")


@dataclass(frozen=True)
class LoggingConfig:
    """``logging`` plus ``json``: one JSON object per line."""

    level: str = setting(_LOG_LEVEL, "debug2", shown="`debug2`")
    file: str | None = setting(OPTIONAL_STRING, None, shown="stdout")
    syslog: str | None = setting(OPTIONAL_STRING, None, shown="none")
    json: bool = setting(BOOLEAN, False, shown="`false`")


@dataclass(frozen=True)
class NetworkConfig:
    """``network``: the pool of container networks and the host firewall."""

    pool_network: str = setting(IPV4_NETWORK, "10.254.0.0/24", shown="`10.254.0.0/24`")
    #: The original's legacy form of the pool: a start address and a number of containers.
    pool_start_address: str | None = setting(OPTIONAL_STRING, None, shown="none")
    pool_size: int | None = setting(OPTIONAL_POSITIVE, None, shown="none")
    release_delay: float = setting(NON_NEGATIVE_SECONDS, 5.0, shown="`5`")
    mtu: int = setting(integer_range(68, 65535, "an MTU"), 1500, shown="`1500`")
    allow_networks: tuple[str, ...] = setting(NETWORK_LIST, (), shown="`[]`")
    #: Ours: networks no container may reach, whatever allow_networks or NetOut say.
    deny_networks: tuple[str, ...] = setting(NETWORK_LIST, (), shown="`[]`")
    allow_host_access: bool = setting(BOOLEAN, False, shown="`false`")
    dns_servers: tuple[str, ...] = setting(STRING_LIST, (), shown="`[]`")


@dataclass(frozen=True)
class PortConfig:
    """``port``: the pool of host ports handed out by net_in."""

    pool_start_port: int = setting(
        PORT, factory=_above_ephemeral, shown="just above the ephemeral range"
    )
    #: None here means up to port 65000 (filled in by ``_finish_port``).
    pool_size: int = setting(NON_NEGATIVE, None, shown="up to port 65000")


@dataclass(frozen=True)
class UserConfig:
    """``user``: the pool of container uids."""

    pool_start_uid: int = setting(NON_NEGATIVE, 10000, shown="`10000`")
    pool_size: int = setting(NON_NEGATIVE, 64, shown="`64`")


#: Section name -> its dataclass, in the order the README lists them.
_SECTIONS: Final[dict[str, type[Any]]] = {
    "server": ServerConfig,
    "health_check_server": HealthCheckConfig,
    "logging": LoggingConfig,
    "network": NetworkConfig,
    "port": PortConfig,
    "user": UserConfig,
}


@dataclass(frozen=True)
class SchemaRow:
    """One key as the README's configuration table shows it."""

    key: str
    type: str
    default: str


def _settings(section: type[Any]) -> Iterator[tuple[dataclasses.Field[Any], tuple[str, ...]]]:
    for spec in dataclasses.fields(section):
        meta: _Setting = spec.metadata["setting"]
        yield spec, meta.path or (spec.name,)


def schema_rows() -> list[SchemaRow]:
    """Every key: dotted name, type and default, as the README's table has them."""
    rows = []
    for name, section in _SECTIONS.items():
        for spec, path in _settings(section):
            meta: _Setting = spec.metadata["setting"]
            rows.append(SchemaRow(".".join((name, *path)), meta.kind.name, meta.shown))
    return rows


@dataclass(frozen=True)
class Config:
    """The whole validated configuration; ``raw`` holds the sections as read."""

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
        raise ConfigError(f"configuration: expected a mapping of sections, got {show(data)}")
    _refuse_unknown("", data, _SECTIONS, "section")
    raw: dict[str, dict[str, Any]] = {}
    for name in _SECTIONS:
        raw[name] = dict(_mapping(name, data.get(name)))
    return Config(
        server=_read("server", ServerConfig, raw["server"]),
        health_check_server=_read(
            "health_check_server", HealthCheckConfig, raw["health_check_server"]
        ),
        logging=_read("logging", LoggingConfig, raw["logging"]),
        network=_finish_network(_read("network", NetworkConfig, raw["network"])),
        port=_finish_port(_read("port", PortConfig, raw["port"])),
        user=_read("user", UserConfig, raw["user"]),
        raw=raw,
    )


_Section = TypeVar("_Section")


def _mapping(key: str, value: Any) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: expected a mapping, got {show(value)}")
    return value


def _refuse_unknown(prefix: str, given: Mapping[Any, Any], known: Iterable[str], what: str) -> None:
    """A key not in ``known`` stops the start: most often a misspelling, so name the nearest."""
    names = list(known)
    for key in given:
        if key in names:
            continue
        hint = difflib.get_close_matches(str(key), names, n=1)
        also = f"; did you mean {hint[0]}?" if hint else f" (expected one of {', '.join(names)})"
        raise ConfigError(f"{prefix}{key}: unknown {what}{also}")


def _read(name: str, section: type[_Section], given: Mapping[Any, Any]) -> _Section:
    """One section: every key checked by its kind, defaults for the missing ones."""
    paths = dict(_settings(section))
    _refuse_unknown(f"{name}.", given, dict.fromkeys(path[0] for path in paths.values()), "key")
    groups = {path[0] for path in paths.values() if len(path) > 1}
    for group in groups:
        inner = {path[1] for path in paths.values() if len(path) > 1 and path[0] == group}
        _refuse_unknown(
            f"{name}.{group}.", _mapping(f"{name}.{group}", given.get(group)), inner, "key"
        )
    values: dict[str, Any] = {}
    for spec, path in paths.items():
        place: Mapping[Any, Any] = given
        for step in path[:-1]:
            place = _mapping(f"{name}.{step}", place.get(step))
        if path[-1] not in place:
            continue
        value = place[path[-1]]
        meta: _Setting = spec.metadata["setting"]
        if value is None and not meta.kind.nullable:
            continue  # the key written without a value keeps its default
        values[spec.name] = meta.kind(".".join((name, *path)), value)
    return section(**values)


def _finish_network(network: NetworkConfig) -> NetworkConfig:
    start, size = network.pool_start_address, network.pool_size
    if start is None or size is None:
        return network
    # The original's legacy form: room for ``size`` containers of four addresses each.
    prefix = 32 - (math.ceil(math.log2(size)) + 2)
    pool = IPV4_NETWORK("network.pool_start_address", f"{start}/{prefix}")
    return dataclasses.replace(network, pool_network=pool)


def _finish_port(port: PortConfig) -> PortConfig:
    start = port.pool_start_port
    size = 65001 - start if port.pool_size is None else port.pool_size
    if size < 1000:
        raise ConfigError(
            f"port.pool_size: Insufficient non-ephemeral ports available "
            f"(expected >= 1000, got: {size})"
        )
    if start + size - 1 > 65535:
        raise ConfigError(
            f"port.pool_size: the pool {start}..{start + size - 1} goes past port 65535"
        )
    return dataclasses.replace(port, pool_size=size)
