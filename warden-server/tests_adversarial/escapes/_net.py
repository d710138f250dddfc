"""Host-side network helpers of the escapes suite, run with ``nsenter --net``
in the network namespace they concern (a script: ``python _net.py CMD ...``).

    listen LOG ABSTRACT        TCP and UDP on one port on every IPv4 and IPv6
                               address, and the abstract unix socket
                               ABSTRACT; prints "ready PORT", then appends a
                               line to LOG for each connection ("tcp PEER"),
                               datagram ("udp PEER DATA") and unix connection
                               ("unix") until SIGTERM
    connect ADDR PORT [SRC]    a TCP connection, from SRC when given (exit 0 when
                               accepted)
    udp ADDR PORT TEXT         one UDP datagram
    abstract NAME              connect to an abstract unix socket
    spoof SRC DST PORT         one UDP datagram in an IPv4 packet built by
                               hand on a raw socket, with any source address
                               (needs CAP_NET_RAW where it runs)

Nothing here sends anywhere but inside the namespaces the tests made.
"""

from __future__ import annotations

import selectors
import signal
import socket
import struct
import sys
from pathlib import Path
from typing import TextIO


def _bound(family: int, kind: int, addr: str, port: int) -> socket.socket:
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((addr, port))
    if kind == socket.SOCK_STREAM:
        sock.listen(64)
    sock.setblocking(False)
    return sock


def listen(log_path: str, abstract: str) -> int:
    with Path(log_path).open("a", buffering=1) as log:
        return _serve(log, abstract)


def _serve(log: TextIO, abstract: str) -> int:
    first = _bound(socket.AF_INET, socket.SOCK_STREAM, "0.0.0.0", 0)
    port = first.getsockname()[1]
    sockets = [
        first,
        _bound(socket.AF_INET6, socket.SOCK_STREAM, "::", port),
        _bound(socket.AF_INET, socket.SOCK_DGRAM, "0.0.0.0", port),
        _bound(socket.AF_INET6, socket.SOCK_DGRAM, "::", port),
    ]
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind("\0" + abstract)
    unix.listen(8)
    unix.setblocking(False)
    selector = selectors.DefaultSelector()
    for sock in [*sockets, unix]:
        selector.register(sock, selectors.EVENT_READ)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"ready {port}", flush=True)
    while True:
        for key, _ in selector.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if sock is unix:
                conn, _ = sock.accept()
                log.write("unix\n")
                conn.close()
            elif sock.type == socket.SOCK_STREAM:
                conn, peer = sock.accept()
                log.write(f"tcp {peer[0]}\n")
                conn.close()
            else:
                data, peer = sock.recvfrom(2048)
                log.write(f"udp {peer[0]} {data.decode(errors='replace').strip()}\n")


def connect(addr: str, port: str, source: str = "") -> int:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        if source:
            sock.bind((source, 0))
        sock.connect((addr, int(port)))
    return 0


def udp(addr: str, port: str, text: str) -> int:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.sendto(text.encode(), (addr, int(port)))
    return 0


def connect_abstract(name: str) -> int:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect("\0" + name)
    return 0


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def spoof(src: str, dst: str, port: str) -> int:
    payload = f"spoofed from {src}".encode()
    udp = struct.pack("!HHHH", 40000, int(port), 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, socket.IPPROTO_UDP,
                         0, socket.inet_aton(src), socket.inet_aton(dst))  # fmt: skip
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
        sock.sendto(header + udp, (dst, 0))
    return 0


def main(argv: list[str]) -> int:
    commands = {"listen": listen, "connect": connect, "udp": udp, "abstract": connect_abstract,
                "spoof": spoof}  # fmt: skip
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[0]](*argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
