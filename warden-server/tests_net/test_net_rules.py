"""NetOut checking and the bandwidth report parser (no root needed)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warden.protocol import NetOutRequest
from warden.server._config import parse_config
from warden.server._errors import ConfigError, WardenError
from warden.server.linux._net_rules import (
    UNLIMITED,
    NetOutRule,
    host_firewall_env,
    tbf_limits,
)


def rule(**fields: object) -> NetOutRule:
    return NetOutRule.from_request(NetOutRequest(handle="h", **fields))  # type: ignore[arg-type]


def error_of(**fields: object) -> str:
    with pytest.raises(WardenError) as caught:
        rule(**fields)
    return caught.value.message


def test_something_must_be_named() -> None:
    assert error_of() == "Please specify network, port, and/or port_range."
    assert error_of(network="", port_range="") == "Please specify network, port, and/or port_range."
    assert error_of(protocol=NetOutRequest.ICMP) == (
        "Please specify network, port, and/or port_range."
    )


@pytest.mark.parametrize("port_range", ["2002:2000", "2000:2000"])
def test_a_range_must_go_up(port_range: str) -> None:
    assert error_of(port_range=port_range) == "Port range maximum must be greater than minimum"


@pytest.mark.parametrize("port_range", ["a:b", "2000:", "1:2:3", "0:10", "10:70000", "x", "-1"])
def test_a_range_must_be_numbers(port_range: str) -> None:
    assert error_of(port_range=port_range) == f"Invalid port range: {port_range}"


@pytest.mark.parametrize("port", [0, 65536])
def test_a_port_must_be_a_port(port: int) -> None:
    assert error_of(port=port) == f"Invalid port: {port}"


@pytest.mark.parametrize(
    ("protocol", "name"), [(NetOutRequest.ICMP, "icmp"), (NetOutRequest.ALL, "all")]
)
def test_ports_only_with_tcp_or_udp(protocol: int, name: str) -> None:
    message = f"port and port_range apply to tcp and udp only, not to protocol {name}"
    assert error_of(port=80, protocol=protocol) == message
    assert error_of(network="10.0.0.1", port_range="1:2", protocol=protocol) == message


@pytest.mark.parametrize(
    "network",
    ["example.com", "10.0.0.300", "10.0.0.1/33", "10.0.0.9-10.0.0.1", "10.0.0.1-x", "::1"],
)
def test_a_network_must_be_an_address_a_cidr_or_a_range(network: str) -> None:
    assert error_of(network=network).startswith(f"Invalid network: {network} (")


@pytest.mark.parametrize("field", ["icmp_type", "icmp_code"])
def test_icmp_fields_are_bytes_or_minus_one(field: str) -> None:
    assert error_of(network="10.0.0.1", protocol=NetOutRequest.ICMP, **{field: 256}).startswith(
        f"Invalid {field}: 256"
    )


def test_rules_as_the_original_builds_them() -> None:
    assert rule(network="4.2.2.2") == NetOutRule("4.2.2.2", "", "tcp", None, None, None)
    assert rule(port=1234) == NetOutRule(None, "1234", "tcp", None, None, None)
    # port_range wins over port
    assert rule(port=80, port_range="2000:2002", protocol=NetOutRequest.UDP, log=True) == (
        NetOutRule(None, "2000:2002", "udp", None, None, True)
    )
    assert rule(network="10.0.0.0/8", protocol=NetOutRequest.ICMP, icmp_type=8, icmp_code=0) == (
        NetOutRule("10.0.0.0/8", "", "icmp", 8, 0, None)
    )
    assert rule(
        network="10.0.0.1-10.0.0.9", protocol=NetOutRequest.ICMP, icmp_type=-1, icmp_code=-1
    ) == NetOutRule("10.0.0.1-10.0.0.9", "", "icmp", None, None, None)
    # icmp fields mean nothing for other protocols
    assert rule(network="10.0.0.1", icmp_type=8, log=False) == (
        NetOutRule("10.0.0.1", "", "tcp", None, None, False)
    )


def test_script_env_and_records() -> None:
    icmp = rule(network="10.0.0.1", protocol=NetOutRequest.ICMP, icmp_type=8, log=True)
    assert icmp.script_env() == {
        "NETWORK": "10.0.0.1", "PORTS": "", "PROTOCOL": "icmp",
        "ICMP_TYPE": "8", "ICMP_CODE": "", "LOG": "true",
    }  # fmt: skip
    assert icmp.to_record() == ["10.0.0.1", "", "icmp", 8, None, True]
    assert rule(port=53, protocol=NetOutRequest.UDP).script_env()["NETWORK"] == ""
    assert rule(port=53, log=False).script_env()["LOG"] == "false"


@given(
    network=st.one_of(st.none(), st.ip_addresses(v=4).map(str)),
    port=st.one_of(st.none(), st.integers(1, 65535)),
    protocol=st.sampled_from([NetOutRequest.TCP, NetOutRequest.UDP, NetOutRequest.ALL]),
    log=st.one_of(st.none(), st.booleans()),
)
def test_records_survive_a_snapshot(
    network: str | None, port: int | None, protocol: int, log: bool | None
) -> None:
    fields: dict[str, object] = {"protocol": protocol}
    if network is not None:
        fields["network"] = network
    if port is not None and protocol != NetOutRequest.ALL:
        fields["port"] = port
    if log is not None:
        fields["log"] = log
    if network is None and "port" not in fields:
        return
    original = rule(**fields)
    record = json.loads(json.dumps(original.to_record()))
    assert NetOutRule.from_record(record) == original


@pytest.mark.parametrize("record", [[], ["10.0.0.1"], None, ["a", "", "tcp", "x", None, None]])
def test_bad_records_are_warden_errors(record: object) -> None:
    with pytest.raises(WardenError, match="invalid net_out record"):
        NetOutRule.from_record(record)  # type: ignore[arg-type]


def test_tbf_limits() -> None:
    shown = json.dumps([
        {"kind": "ingress", "handle": "ffff:", "parent": "ffff:fff1", "options": {}},
        {"kind": "tbf", "handle": "8001:", "root": True, "refcnt": 3,
         "options": {"rate": 100000, "burst": 1000, "lat": 25000}},
    ])  # fmt: skip
    assert tbf_limits(shown.encode()) == (100000, 1000)
    assert tbf_limits(b"[]") == (UNLIMITED, UNLIMITED)
    assert tbf_limits(b"") == (UNLIMITED, UNLIMITED)
    noqueue = [{"kind": "noqueue", "handle": "0:", "root": True, "options": {}}]
    assert tbf_limits(json.dumps(noqueue)) == (UNLIMITED, UNLIMITED)
    with pytest.raises(WardenError, match="tc printed no JSON"):
        tbf_limits(b"qdisc tbf 8001: root rate 800Kbit")


def test_host_firewall_env() -> None:
    assert host_firewall_env("10.254.0.0/24", ["1.2.3.4", "5.6.7.0/24"], [], False) == {
        "POOL_NETWORK": "10.254.0.0/24",
        "ALLOW_NETWORKS": "1.2.3.4 5.6.7.0/24",
        "DENY_NETWORKS": "",
        "ALLOW_HOST_ACCESS": "false",
    }
    assert host_firewall_env("10.0.0.0/22", [], ["169.254.169.254"], True)["ALLOW_HOST_ACCESS"] == (
        "true"
    )


def test_deny_networks_in_the_configuration() -> None:
    config = parse_config({"network": {"deny_networks": ["169.254.169.254", "10.0.0.0/8"]}})
    assert config.network.deny_networks == ("169.254.169.254", "10.0.0.0/8")
    assert parse_config({}).network.deny_networks == ()


@pytest.mark.parametrize("key", ["allow_networks", "deny_networks"])
def test_firewall_networks_must_be_addresses_or_networks(key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"network": {key: ["10.0.0.1", "example.com"]}})
    assert str(caught.value) == (
        f"network.{key}[1]: expected an IPv4 address or network such as 10.0.0.0/8, "
        "got 'example.com'"
    )
