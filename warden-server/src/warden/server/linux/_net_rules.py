# -*- test-case-name: tests_net.test_net_rules -*-
"""Pure parts of Linux networking: NetOut requests checked and turned into
net.sh's environment, tc's bandwidth report read, host firewall settings.

Nothing here runs a process, so all of it is tested without root.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from warden.protocol import NetOutRequest

from .._errors import WardenError

__all__ = [
    "UNLIMITED",
    "NetOutRule",
    "host_firewall_env",
    "tbf_limits",
    "valid_port",
]

#: What Info reports for a direction without a bandwidth limit.
UNLIMITED = 0xFFFFFFFF

_PROTOCOLS = {
    NetOutRequest.TCP: "tcp",
    NetOutRequest.UDP: "udp",
    NetOutRequest.ICMP: "icmp",
    NetOutRequest.ALL: "all",
}


def valid_port(value: int) -> bool:
    """Whether ``value`` is a TCP/UDP port number (1 ... 65535)."""
    return 1 <= value <= 65535


@dataclass(frozen=True)
class NetOutRule:
    """One NetOut, as net.sh takes it and as the snapshot records it.

    ``ports`` is ``""``, ``"n"`` or ``"min:max"``; ``icmp_type``/``icmp_code``
    are None for "any"; ``log`` is None when the request did not say.
    """

    network: str | None
    ports: str
    protocol: str
    icmp_type: int | None
    icmp_code: int | None
    log: bool | None

    @classmethod
    def from_request(cls, request: NetOutRequest) -> NetOutRule:
        """Check a NetOut request (the original's errors first) and build its rule."""
        network = request.network if request.network else None
        has_port = request.HasField("port")
        port_range = request.port_range if request.port_range else None
        if network is None and not has_port and port_range is None:
            raise WardenError("Please specify network, port, and/or port_range.")

        ports = port_range if port_range is not None else str(request.port) if has_port else ""
        _check_ports(ports, from_range=port_range is not None)

        protocol = _PROTOCOLS.get(request.protocol, "tcp")
        if ports and protocol not in ("tcp", "udp"):
            raise WardenError(
                f"port and port_range apply to tcp and udp only, not to protocol {protocol}"
            )
        if network is not None:
            _check_network(network)

        icmp_type = icmp_code = None
        if protocol == "icmp":
            icmp_type = _icmp_field(request, "icmp_type")
            icmp_code = _icmp_field(request, "icmp_code")
        log = request.log if request.HasField("log") else None
        return cls(network, ports, protocol, icmp_type, icmp_code, log)

    def script_env(self) -> dict[str, str]:
        """Environment of ``net.sh out`` (absent values are empty strings)."""
        return {
            "NETWORK": self.network or "",
            "PORTS": self.ports,
            "PROTOCOL": self.protocol,
            "ICMP_TYPE": "" if self.icmp_type is None else str(self.icmp_type),
            "ICMP_CODE": "" if self.icmp_code is None else str(self.icmp_code),
            "LOG": "" if self.log is None else "true" if self.log else "false",
        }

    def to_record(self) -> list[Any]:
        """The snapshot's 6-element form: network, ports, protocol, type, code, log."""
        return [self.network, self.ports, self.protocol, self.icmp_type, self.icmp_code, self.log]

    @classmethod
    def from_record(cls, record: Sequence[Any]) -> NetOutRule:
        """Read a snapshot record back (WardenError when it is not one)."""
        try:
            network, ports, protocol, icmp_type, icmp_code, log = record
            return cls(
                None if network is None else str(network),
                "" if ports is None else str(ports),
                str(protocol),
                None if icmp_type is None else int(icmp_type),
                None if icmp_code is None else int(icmp_code),
                None if log is None else bool(log),
            )
        except (TypeError, ValueError) as error:
            raise WardenError(f"invalid net_out record {record!r}: {error}") from None


def _check_ports(ports: str, *, from_range: bool) -> None:
    if not ports:
        return
    if ":" in ports:
        low, _, high = ports.partition(":")
        if not (low.isdigit() and high.isdigit()):
            raise WardenError(f"Invalid port range: {ports}")
        if int(low) >= int(high):
            raise WardenError("Port range maximum must be greater than minimum")
        if not (valid_port(int(low)) and valid_port(int(high))):
            raise WardenError(f"Invalid port range: {ports}")
    elif not (ports.isdigit() and valid_port(int(ports))):
        what = "port range" if from_range else "port"
        raise WardenError(f"Invalid {what}: {ports}")


def _check_network(network: str) -> None:
    """An IPv4 address, a CIDR network or an ``a.b.c.d-e.f.g.h`` range."""
    try:
        if "-" in network:
            first, _, last = network.partition("-")
            if ipaddress.IPv4Address(first) > ipaddress.IPv4Address(last):
                raise ValueError(network)
        else:
            ipaddress.IPv4Network(network, strict=False)
    except ValueError:
        raise WardenError(
            f"Invalid network: {network} (expected an address, a CIDR network or a range "
            "such as 10.0.0.1-10.0.0.9)"
        ) from None


def _icmp_field(request: NetOutRequest, name: str) -> int | None:
    if not request.HasField(name):
        return None
    value = int(getattr(request, name))
    if value == -1:
        return None
    if not 0 <= value <= 255:
        raise WardenError(f"Invalid {name}: {value} (expected 0 ... 255, or -1 for any)")
    return value


def tbf_limits(qdisc_json: bytes | str) -> tuple[int, int]:
    """Rate (bytes/s) and burst (bytes) of the root tbf in ``tc -j qdisc show``
    output; ``UNLIMITED`` for both when there is none."""
    try:
        qdiscs = json.loads(qdisc_json or "[]")
    except ValueError:
        raise WardenError("cannot read the bandwidth limits: tc printed no JSON") from None
    for qdisc in qdiscs if isinstance(qdiscs, list) else []:
        if isinstance(qdisc, dict) and qdisc.get("kind") == "tbf" and qdisc.get("root"):
            options = qdisc.get("options") or {}
            return int(options.get("rate", UNLIMITED)), int(options.get("burst", UNLIMITED))
    return UNLIMITED, UNLIMITED


def host_firewall_env(
    pool_network: str,
    allow_networks: Sequence[str],
    deny_networks: Sequence[str],
    allow_host_access: bool,
) -> Mapping[str, str]:
    """Environment of the host ``net.sh setup`` (root-scripts/linux/net.sh)."""
    return {
        "POOL_NETWORK": pool_network,
        "ALLOW_NETWORKS": " ".join(allow_networks),
        "DENY_NETWORKS": " ".join(deny_networks),
        "ALLOW_HOST_ACCESS": "true" if allow_host_access else "false",
    }
