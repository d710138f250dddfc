"""The configuration: every key of the original with its default, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from warden.server import ConfigError, load_config, parse_config
from warden.server._config import default_root_scripts_path, schema_rows
from warden.server._security import entry_environment


def test_defaults_are_the_originals() -> None:
    config = parse_config(None)
    server = config.server
    assert server.unix_domain_path == "/tmp/warden.sock"
    assert server.unix_domain_permissions == 0o755
    assert server.container_klass == "insecure"
    assert server.container_grace_time == 300
    assert server.job_output_limit == 10485760
    assert server.disk_quota_enabled is True
    assert server.allow_nested_warden is False
    assert server.container_rlimits == {}
    assert (server.pidfile, server.syslog_socket) == (None, None)
    assert server.cgroup_parent == "warden"
    assert config.health_check_server.port == 2345
    assert config.logging.level == "debug2" and config.logging.json is False
    assert config.network.pool_network == "10.254.0.0/24"
    assert config.network.release_delay == 5.0
    assert config.network.mtu == 1500
    assert config.network.allow_networks == ()
    assert config.user.pool_start_uid == 10000 and config.user.pool_size == 64
    upper = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[1])
    assert config.port.pool_start_port == upper + 1
    assert config.port.pool_size == 65001 - (upper + 1)


def test_security_defaults_are_the_safe_values() -> None:
    server = parse_config(None).server
    assert server.privileged_capabilities == ("default",)
    assert (server.privileged_no_new_privs, server.seccomp, server.restrict_proc_sys) == (
        True, True, True)  # fmt: skip
    assert entry_environment(server) == {
        "PRIVILEGED_CAPS": "default",
        "PRIVILEGED_NO_NEW_PRIVS": "true",
        "SECCOMP": "true",
    }


@pytest.mark.parametrize(
    "value, names",
    [
        ("all", ("all",)),
        ("none", ("none",)),
        ("default,net_admin", ("default", "net_admin")),
        (["default", "CAP_NET_RAW", "Sys_Time"], ("default", "net_raw", "sys_time")),
        ([" chown , chown", "kill"], ("chown", "kill")),
        (None, ("default",)),
    ],
)
def test_privileged_capabilities_spellings(value: Any, names: tuple[str, ...]) -> None:
    config = parse_config({"server": {"privileged_capabilities": value, "seccomp": False,
                                      "privileged_no_new_privs": False}})  # fmt: skip
    assert config.server.privileged_capabilities == names
    assert entry_environment(config.server) == {
        "PRIVILEGED_CAPS": ",".join(names), "PRIVILEGED_NO_NEW_PRIVS": "false",
        "SECCOMP": "false"}  # fmt: skip


def test_root_scripts_default_to_the_repository() -> None:
    assert Path(default_root_scripts_path(), "insecure", "job.sh").is_file()


def test_the_shipped_configurations_load() -> None:
    config_dir = Path(__file__).resolve().parents[1] / "config"
    linux = load_config(config_dir / "warden.yml")
    assert linux.backend == "linux"
    assert linux.server.unix_domain_path == "/tmp/warden.sock"
    assert linux.server.container_depot_path == "/var/lib/warden/containers"
    assert linux.server.container_rootfs_path == "/var/lib/warden/rootfs"
    assert load_config(config_dir / "insecure.yml").backend == "insecure"


@pytest.mark.parametrize(
    "klass, backend",
    [
        ("Warden::Container::Linux", "linux"),
        ("Warden::Container::Insecure", "insecure"),
        ("linux", "linux"),
        ("insecure", "insecure"),
    ],
)
def test_container_klass_spellings(klass: str, backend: str) -> None:
    assert parse_config({"server": {"container_klass": klass}}).backend == backend


def test_sections_merge_over_defaults() -> None:
    config = parse_config(
        {
            "server": {"job_output_limit": 5},
            "network": {"pool_start_address": "10.0.0.0", "pool_size": 256},
            "user": {"pool_size": 10},
            "port": {"pool_start_port": 50000, "pool_size": 1000},
        }
    )
    assert config.server.job_output_limit == 5
    assert config.server.unix_domain_path == "/tmp/warden.sock"
    # The original's legacy pool form: 256 containers -> a /22.
    assert config.network.pool_network == "10.0.0.0/22"
    assert (config.user.pool_start_uid, config.user.pool_size) == (10000, 10)


def test_yaml_octal_permissions_and_null_grace_time(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_text("server:\n  unix_domain_permissions: 0777\n  container_grace_time: ~\n")
    config = load_config(path)
    assert config.server.unix_domain_permissions == 0o777
    assert config.server.container_grace_time is None


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"server": {"container_grace_time": 1.5}},
            "server.container_grace_time: expected a non-negative integer or null, got float 1.5",
        ),
        (
            {"server": {"container_grace_time": "abc"}},
            "server.container_grace_time: expected a non-negative integer or null, got str 'abc'",
        ),
        (
            {"server": {"container_grace_time": -1}},
            "server.container_grace_time: expected a non-negative integer or null, got int -1",
        ),
        (
            {"server": {"job_output_limit": True}},
            "server.job_output_limit: expected a non-negative integer, got bool True",
        ),
        (
            {"server": {"container_pids_limit": -5}},
            "server.container_pids_limit: expected a non-negative integer, got int -5",
        ),
        (
            {"server": {"disk_limit_backend": "zfs"}},
            "server.disk_limit_backend: expected one of loop, quota, none, got str 'zfs'",
        ),
        ({"network": {"mtu": 10}}, "network.mtu: expected an MTU 68..65535, got 10"),
        ({"user": {"pool_size": "many"}}, "user.pool_size: expected a non-negative integer"),
        ({"port": {"pool_start_port": 70000}}, "port.pool_start_port: expected a port number"),
        (
            {"server": {"container_grace_tme": 5}},
            "server.container_grace_tme: unknown key; did you mean container_grace_time?",
        ),
        ({"server": {"zzz": 5}}, "server.zzz: unknown key (expected one of unix_domain_path,"),
        (
            {"server": {"quota": {"disk_quota": False}}},
            "server.quota.disk_quota: unknown key; did you mean disk_quota_enabled?",
        ),
        ({"server": {"quota": 5}}, "server.quota: expected a mapping, got int 5"),
        ({"netwrok": {}}, "netwrok: unknown section; did you mean network?"),
        ({"network": {"pool_size": 0, "pool_start_address": "10.0.0.0"}}, "network.pool_size"),
        (
            {"server": {"unix_domain_path": 5}},
            "server.unix_domain_path: expected a non-empty string",
        ),
        (
            {"server": {"container_klass": "Warden::Container::Zone"}},
            "server.container_klass: expected",
        ),
        (
            {"server": {"container_rlimits": {"nofiles": 1}}},
            "server.container_rlimits.nofiles: unknown",
        ),
        (
            {"server": {"container_rlimits": {"nofile": "many"}}},
            "server.container_rlimits.nofile: expected",
        ),
        (
            {"server": {"allow_nested_warden": "yes"}},
            "server.allow_nested_warden: expected true or false",
        ),
        ({"server": {"quota": {"disk_quota_enabled": 1}}}, "server.quota.disk_quota_enabled"),
        (
            {"server": {"privileged_capabilities": "default,sys_everything"}},
            "server.privileged_capabilities: unknown capability 'sys_everything'",
        ),
        (
            {"server": {"privileged_capabilities": 7}},
            "server.privileged_capabilities: expected default, all, none or capability names",
        ),
        (
            {"server": {"privileged_capabilities": ""}},
            "server.privileged_capabilities: unknown capability ''",
        ),
        ({"server": {"seccomp": "off"}}, "server.seccomp: expected true or false"),
        (
            {"server": {"privileged_no_new_privs": 0}},
            "server.privileged_no_new_privs: expected true or false",
        ),
        ({"server": {"restrict_proc_sys": "no"}}, "server.restrict_proc_sys: expected true"),
        ({"server": []}, "server: expected a mapping"),
        ({"logging": {"level": "loud"}}, "logging.level: expected one of off, fatal"),
        (
            {"network": {"pool_network": "10.0.0.0"}},
            "network.pool_network: expected an address/netmask",
        ),
        ({"network": {"allow_networks": "10.0.0.0/8"}}, "network.allow_networks: expected a list"),
        ({"network": {"release_delay": -1}}, "network.release_delay: expected a non-negative"),
        (
            {"port": {"pool_start_port": 64000, "pool_size": 500}},
            "Insufficient non-ephemeral ports",
        ),
        (
            {"health_check_server": {"port": 70000}},
            "health_check_server.port: expected a port number",
        ),
        ([1, 2], "configuration: expected a mapping of sections"),
    ],
)
def test_invalid_values_name_the_key(data: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert message in str(caught.value)


def test_errors_are_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"server": {"container_grace_time": "abc"}})
    assert "\n" not in str(caught.value)


def test_null_keeps_the_default_unless_null_is_a_value() -> None:
    server = parse_config(
        {"server": {"container_pids_limit": None, "job_output_limit": None, "pidfile": None,
                    "container_grace_time": None}}
    ).server  # fmt: skip
    assert (server.container_pids_limit, server.job_output_limit) == (1024, 10485760)
    assert (server.pidfile, server.container_grace_time) == (None, None)


def test_linux_keys_are_in_the_schema() -> None:
    server = parse_config(
        {"server": {"disk_image_size": 5, "disk_image_inodes": 7, "cgroup_root": "/cg",
                    "container_pids_limit": 0, "disk_limit_backend": "QUOTA"}}
    ).server  # fmt: skip
    assert (server.disk_image_size, server.disk_image_inodes) == (5, 7)
    assert (server.cgroup_root, server.container_pids_limit) == ("/cg", 0)
    assert server.disk_limit_backend == "quota"
    default = parse_config(None).server
    assert (default.container_pids_limit, default.disk_limit_backend) == (1024, "loop")
    assert (default.disk_image_size, default.disk_image_inodes) == (None, 200000)


def _readme_rows() -> dict[str, tuple[str, str]]:
    """The README's configuration table: key -> (type, default)."""
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`") and cells[0].endswith("`"):
            assert cells[0][1:-1] not in rows, f"{cells[0]} listed twice"
            rows[cells[0][1:-1]] = (cells[1], cells[2])
    return rows


def test_readme_table_is_the_schema() -> None:
    readme = _readme_rows()
    schema = {row.key: (row.type, row.default) for row in schema_rows()}
    assert sorted(readme) == sorted(schema), "keys differ between README and schema"
    for key, described in schema.items():
        assert readme[key] == described, key


def test_every_schema_key_is_accepted() -> None:
    """Each key's shown default is a value the schema itself accepts (round trip)."""
    config = parse_config(None)
    for name in ("server", "health_check_server", "logging", "network", "port", "user"):
        section = {k: v for k, v in vars(getattr(config, name)).items() if v is not None}
        if name == "server":
            section["quota"] = {"disk_quota_enabled": section.pop("disk_quota_enabled")}
            section["privileged_capabilities"] = ",".join(section["privileged_capabilities"])
        section = {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
        again = parse_config({name: section})
        assert getattr(again, name) == getattr(config, name)


def test_unreadable_or_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("server: [unclosed\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_config(bad)
