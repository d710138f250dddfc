"""The ping floor's server: Twisted on a unix socket, answering each Ping frame
with the PingResponse frame's bytes, nothing decoded (the transport and
reactor cost without warden).

    _ping_floor.py SOCKET     (serves until killed)
"""

from __future__ import annotations

import sys
from typing import Any

from twisted.internet import protocol, reactor

from warden.protocol import PingRequest, PingResponse, request_to_wire, response_to_wire

PING = request_to_wire(PingRequest())
PONG = response_to_wire(PingResponse())


class Pong(protocol.Protocol):
    """Counts whole Ping frames, writes as many answers."""

    def __init__(self) -> None:
        self.pending = 0

    def dataReceived(self, data: bytes) -> None:
        self.pending += len(data)
        frames, self.pending = divmod(self.pending, len(PING))
        if frames:
            self.transport.write(PONG * frames)  # type: ignore[union-attr]


def main() -> None:
    react: Any = reactor
    react.listenUNIX(sys.argv[1], protocol.Factory.forProtocol(Pong))
    react.run()


if __name__ == "__main__":
    main()
