"""Traffic probes for the networking tests, run inside a test namespace.

    python3 _probe.py serve-tcp ADDR PORT        accept forever; greet each peer
                                                 with "ok <peer address>\\n"
    python3 _probe.py serve-udp ADDR PORT        print each datagram's payload
    python3 _probe.py tcp ADDR PORT              exit 0 when greeted, print the
                                                 greeting; 1 when refused/timed out
    python3 _probe.py udp ADDR PORT TEXT         send one datagram
    python3 _probe.py ping ADDR [TYPE CODE]      one ICMP echo request (raw
                                                 socket); exit 0 on an echo reply
    python3 _probe.py serve-source ADDR PORT N   accept one peer, send N bytes
    python3 _probe.py serve-sink ADDR PORT       accept one peer, read to EOF,
                                                 print "<bytes> <seconds>" timed
                                                 from the first byte to the last
    python3 _probe.py sink ADDR PORT             connect, read to EOF, print as above
    python3 _probe.py source ADDR PORT N         connect, send N bytes

Servers print "ready" once listening. Every wait is bounded by TIMEOUT seconds.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import time

TIMEOUT = 3.0


def _ready() -> None:
    print("ready", flush=True)


def _listener(addr: str, port: int) -> socket.socket:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((addr, port))
    server.listen(16)
    return server


def serve_tcp(addr: str, port: int) -> None:
    server = _listener(addr, port)
    _ready()
    while True:
        conn, peer = server.accept()
        with conn:
            conn.sendall(f"ok {peer[0]}\n".encode())


def serve_udp(addr: str, port: int) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((addr, port))
    _ready()
    while True:
        data, _peer = server.recvfrom(4096)
        print(data.decode(errors="replace").strip(), flush=True)


def tcp(addr: str, port: int) -> int:
    try:
        with socket.create_connection((addr, port), timeout=TIMEOUT) as conn:
            greeting = conn.makefile().readline().strip()
    except OSError as error:
        print(f"failed: {error}")
        return 1
    print(greeting)
    return 0 if greeting.startswith("ok") else 1


def udp(addr: str, port: int, text: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(text.encode(), (addr, port))
    return 0


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def ping(addr: str, icmp_type: int = 8, code: int = 0) -> int:
    ident = os.getpid() & 0xFFFF
    payload = b"warden-net-test"
    header = struct.pack("!BBHHH", icmp_type, code, 0, ident, 1)
    packet = struct.pack("!BBHHH", icmp_type, code, _checksum(header + payload), ident, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendto(packet + payload, (addr, 0))
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                data, peer = sock.recvfrom(4096)
            except OSError:
                break
            header_length = (data[0] & 0x0F) * 4
            reply_type, _code, _sum, reply_ident, _seq = struct.unpack(
                "!BBHHH", data[header_length : header_length + 8]
            )
            if peer[0] == addr and reply_type == 0 and reply_ident == ident:
                print("reply")
                return 0
            if reply_type == 3:  # destination unreachable: rejected
                print("unreachable")
                return 1
    print("no reply")
    return 1


def _send(conn: socket.socket, count: int) -> None:
    chunk = b"x" * 65536
    while count > 0:
        sent = conn.send(chunk[: min(count, len(chunk))])
        count -= sent


def _sink(conn: socket.socket) -> None:
    total = 0
    first = last = 0.0
    conn.settimeout(30)
    while True:
        data = conn.recv(65536)
        if not data:
            break
        now = time.monotonic()
        if not total:
            first = now
        last = now
        total += len(data)
    print(f"{total} {last - first:.6f}", flush=True)


def serve_source(addr: str, port: int, count: int) -> None:
    server = _listener(addr, port)
    _ready()
    conn, _peer = server.accept()
    with conn:
        _send(conn, count)


def serve_sink(addr: str, port: int) -> None:
    server = _listener(addr, port)
    _ready()
    conn, _peer = server.accept()
    with conn:
        _sink(conn)


def sink(addr: str, port: int) -> int:
    with socket.create_connection((addr, port), timeout=TIMEOUT) as conn:
        _sink(conn)
    return 0


def source(addr: str, port: int, count: int) -> int:
    with socket.create_connection((addr, port), timeout=TIMEOUT) as conn:
        _send(conn, count)
    return 0


def main(argv: list[str]) -> int:
    command, addr, *rest = argv
    if command == "serve-tcp":
        serve_tcp(addr, int(rest[0]))
    elif command == "serve-udp":
        serve_udp(addr, int(rest[0]))
    elif command == "tcp":
        return tcp(addr, int(rest[0]))
    elif command == "udp":
        return udp(addr, int(rest[0]), rest[1])
    elif command == "ping":
        return ping(addr, *(int(value) for value in rest))
    elif command == "serve-source":
        serve_source(addr, int(rest[0]), int(rest[1]))
    elif command == "serve-sink":
        serve_sink(addr, int(rest[0]))
    elif command == "sink":
        return sink(addr, int(rest[0]))
    elif command == "source":
        return source(addr, int(rest[0]), int(rest[1]))
    else:
        print(f"unknown probe: {command}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
