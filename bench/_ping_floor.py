"""The ping floor's server: epoll on a unix socket, answering each Ping frame
with the PingResponse frame's bytes, nothing decoded, nothing queued: what a
Python server's round trip costs without warden, Twisted or protobuf.

    _ping_floor.py SOCKET     (serves until killed)
"""

from __future__ import annotations

import select
import socket
import sys

from warden.protocol import PingRequest, PingResponse, request_to_wire, response_to_wire

PING = request_to_wire(PingRequest())
PONG = response_to_wire(PingResponse())


def main() -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sys.argv[1])
    listener.listen(64)
    listener.setblocking(False)
    poll = select.epoll()
    poll.register(listener, select.EPOLLIN)
    connections: dict[int, tuple[socket.socket, list[int]]] = {}
    while True:
        for fd, _events in poll.poll():
            if fd == listener.fileno():
                conn, _ = listener.accept()
                conn.setblocking(False)
                poll.register(conn, select.EPOLLIN)
                connections[conn.fileno()] = (conn, [0])
                continue
            conn, pending = connections[fd]
            try:
                data = conn.recv(65536)
            except BlockingIOError:
                continue
            if not data:
                poll.unregister(conn)
                del connections[fd]
                conn.close()
                continue
            frames, pending[0] = divmod(pending[0] + len(data), len(PING))
            if frames:
                answer = PONG * frames
                sent = conn.send(answer)
                if sent < len(answer):  # a full socket buffer: rare, then wait
                    conn.setblocking(True)
                    conn.sendall(answer[sent:])
                    conn.setblocking(False)


if __name__ == "__main__":
    main()
