"""The network: the warden socket, host services on loopback, on the host
end of the veth and on IPv6 link-local addresses, an abstract unix socket,
raw sockets, forged source addresses and interface changes.

The listener (``_net.py listen``) runs in the server's network namespace,
the containers' host, and records whatever reaches it. An attempt that could
only show by something arriving is followed by a "fence": a datagram the test
sends itself on the host's loopback, after which anything sent earlier has
been received if it was going to be.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from warden.client import Client

from .conftest import (
    Attempt,
    HostListener,
    LinuxServer,
    container_info,
    in_netns,
    init_pid,
    sh,
)

_fences = itertools.count()


def fence(netns: str, listener: HostListener) -> list[str]:
    """Every event so far, once a datagram sent now has arrived."""
    text = f"fence-{next(_fences)}"
    assert in_netns(netns, "udp", "127.0.0.1", str(listener.port), text).returncode == 0
    events = listener.wait_for(len(listener.events()) + 1)
    assert any(text in event for event in events), events
    return events


def link_local(mac: str) -> str:
    """The EUI-64 link-local IPv6 address an interface with this MAC would get."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    eui = [*octets[:3], 0xFF, 0xFE, *octets[3:]]
    groups = [f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return "fe80::" + ":".join(groups)


def test_the_warden_socket_is_not_reachable(inside: Attempt, server: LinuxServer) -> None:
    assert inside.probe("unix", server.socket_path) == {"connect-unix": "ENOENT"}
    assert inside.shell(f"ls -d {server.base} 2>&1; true").endswith("No such file or directory\n")
    sockets = inside.shell("find / -xdev -type s 2>/dev/null; true")
    assert "warden" not in sockets


def test_host_abstract_unix_socket_is_not_reachable(inside: Attempt, netns: str,
                                                    listener: HostListener) -> None:  # fmt: skip
    before = len(listener.events())
    assert in_netns(netns, "abstract", listener.abstract).returncode == 0  # control
    assert listener.wait_for(before + 1)[before:] == ["unix"]
    assert inside.probe("abstract", listener.abstract) == {"connect-abstract": "ECONNREFUSED"}
    assert fence(netns, listener)[before + 1 :][:-1] == []


def test_host_services_on_loopback_and_the_veth_are_not_reachable(
    inside: Attempt, fresh: Callable[[], str], netns: str, listener: HostListener
) -> None:
    cid, host_ip, _ = container_info(inside.client, inside.handle)
    other_host_ip = container_info(inside.client, fresh())[1]
    port = str(listener.port)
    # Control: the listener answers on all of these, from the host (from its
    # loopback address: the host refuses the pool's addresses as sources).
    before = len(listener.events())
    for addr in ("127.0.0.1", host_ip, other_host_ip):
        assert in_netns(netns, "connect", addr, port, "127.0.0.1").returncode == 0, addr
    assert in_netns(netns, "connect", "::1", port).returncode == 0
    assert listener.wait_for(before + 4)[before:] == ["tcp 127.0.0.1"] * 3 + ["tcp ::1"]
    before += 4
    # From inside: the container's own loopback (nothing listens there), and
    # the host refusing its containers (docs/networking.md, INPUT).
    for addr in ("127.0.0.1", "::1", host_ip, other_host_ip):
        assert inside.probe("tcp", addr, port) == {"tcp-connect": "ECONNREFUSED"}, addr
        assert inside.probe("udp", addr, port) == {"udp-send": "OK"}, addr
    # IPv6 is off on the veth: the host end's link-local address (had it
    # one) is not reachable, so [::] listeners are not either.
    mac = sh("ip", "-n", netns, "-o", "link", "show", f"w-{cid}-0").split("link/ether ")[1][:17]
    target = f"{link_local(mac)}%w-{cid}-1"
    assert inside.probe("tcp", target, port)["tcp-connect"] in {"EADDRNOTAVAIL", "ENETUNREACH"}
    assert inside.probe("udp", target, port)["udp-send"] in {"EADDRNOTAVAIL", "ENETUNREACH"}
    assert fence(netns, listener)[before:][:-1] == []


def test_ipv6_is_off_on_both_ends_of_the_veth(inside: Attempt, client: Client, shared: str,
                                              netns: str) -> None:  # fmt: skip
    cid = container_info(client, shared)[0]
    addresses = inside.shell("cat /proc/net/if_inet6").split("\n")
    assert [line.split()[-1] for line in addresses if line] == ["lo"]
    assert sh("ip", "-n", netns, "-6", "-o", "addr", "show", "dev", f"w-{cid}-0") == ""


def test_raw_and_packet_sockets_are_refused(inside: Attempt) -> None:
    assert inside.probe("raw") == dict.fromkeys(
        ["raw-ip", "raw-icmp", "raw-udp", "raw-ipv6", "packet-raw", "packet-dgram"], "EPERM"
    )


def test_ping_works_without_raw_sockets_and_meets_the_firewall(inside: Attempt) -> None:
    # ping's file capability is void under no_new_privs: it needs the
    # namespace's ping_group_range to open an ICMP echo socket. Only
    # addresses of the container's own namespace answer; the host end of the
    # veth drops them like any other traffic from its containers.
    _, host_ip, container_ip = container_info(inside.client, inside.handle)
    for addr in ("127.0.0.1", container_ip):
        assert inside.probe("ping", addr) == {"ping-socket": "OK", "ping-reply": "OK"}, addr
    refused = inside.probe("ping", host_ip)
    assert refused["ping-socket"] == "OK"
    assert refused["ping-reply"] != "OK"


def test_socket_families_outside_the_network_namespace_are_refused(inside: Attempt) -> None:
    # A vsock port is bound host-wide and reaches the hypervisor past the
    # veth and its firewall; on a kernel without the family the answer is
    # the same EAFNOSUPPORT, so the test holds on any host.
    assert inside.probe("vsock") == dict.fromkeys(
        ["vsock-socket", "qipcrtr-socket"], "EAFNOSUPPORT"
    )


def test_foreign_source_addresses_are_refused(
    inside: Attempt, fresh: Callable[[], str], netns: str, listener: HostListener
) -> None:
    _, host_ip, _ = container_info(inside.client, inside.handle)
    other_ip = container_info(inside.client, fresh())[2]
    before = len(fence(netns, listener))
    for source in ("192.0.2.7", other_ip):
        result = inside.probe("spoof", source, host_ip, str(listener.port))
        assert result["ip-transparent"] == "EPERM"
        # IP_FREEBIND binds without a capability, but nothing can be sent from it.
        assert result["freebind-send"] != "OK", result
    assert fence(netns, listener)[before:][:-1] == []


def test_the_interface_cannot_be_changed(inside: Attempt, client: Client, shared: str) -> None:
    cid = container_info(client, shared)[0]
    assert inside.probe("netadmin", f"w-{cid}-1") == dict.fromkeys(
        ["set-address", "set-hwaddr", "set-mtu", "add-route"], "EPERM"
    )


def test_forged_packets_die_at_the_host_end(client: Client, shared: str,
                                            fresh: Callable[[], str], netns: str,
                                            listener: HostListener) -> None:  # fmt: skip
    """Defence in depth: even a process with every capability in the
    container's network namespace (what ``privileged_capabilities: all``
    would give) cannot pass a forged source address to the host: the host end
    filters by reverse path. The sender is this test, entering the namespace."""
    cid, host_ip, _ = container_info(client, shared)
    other_ip = container_info(client, fresh())[2]
    netns_path = f"/proc/{init_pid(client, shared)}/ns/net"
    port = str(listener.port)
    before = len(fence(netns, listener))
    # Control: the same hand-made packet, sent on the host's own loopback, arrives.
    assert in_netns(netns, "spoof", "127.0.0.1", "127.0.0.1", port).returncode == 0
    events = listener.wait_for(before + 1)
    assert events[before:] == ["udp 127.0.0.1 spoofed from 127.0.0.1"]
    before += 1
    # Outside the pool (the host's INPUT rules only refuse the pool), another
    # container's address, the host's own.
    for source in ("192.0.2.7", other_ip, host_ip):
        sent = in_netns(netns_path, "spoof", source, host_ip, port)
        assert sent.returncode == 0, sent.stderr
    assert fence(netns, listener)[before:][:-1] == []
    rp_filter = sh("nsenter", f"--net=/run/netns/{netns}", "cat",
                   f"/proc/sys/net/ipv4/conf/w-{cid}-0/rp_filter")  # fmt: skip
    assert rp_filter == "1\n"
