"""One benchmark client process: pings a server in timed rounds, prints JSON.

    _ping_worker.py MODE SOCKET CONNECTIONS START ROUNDS SECONDS PERIOD

MODE is ``blocking`` (warden.client.Client, one connection), ``twisted``
(warden.twisted_client, CONNECTIONS connections in one reactor) or ``raw``
(a plain socket sending the Ping frame's bytes: the transport floor). Each
connection keeps one request in flight. Round r runs from START + r *
PERIOD for SECONDS (time.monotonic, shared by all processes, so several
workers measure the same windows, or take turns). Prints {"counts": [completed
pings per round], "latencies": [seconds of each round trip]}.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from warden.protocol import PingRequest, PingResponse, request_to_wire, response_to_wire

PING = request_to_wire(PingRequest())
PONG = response_to_wire(PingResponse())


def _wait_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def blocking_rounds(ping: Callable[[], object], windows: list[tuple[float, float]]
                    ) -> tuple[list[int], list[float]]:  # fmt: skip
    """Ping in each window; completed pings per window and every round trip."""
    counts: list[int] = []
    latencies: list[float] = []
    clock = time.perf_counter
    for start, end in windows:
        _wait_until(start)
        count = 0
        while True:
            before = clock()
            ping()
            after = clock()
            if time.monotonic() >= end:
                break
            latencies.append(after - before)
            count += 1
        counts.append(count)
    return counts, latencies


def raw_ping(path: str) -> Callable[[], object]:
    """A Ping with a plain socket (bytes out, bytes in, nothing decoded)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    size = len(PONG)

    def ping() -> None:
        sock.sendall(PING)
        got = 0
        while got < size:
            got += len(sock.recv(65536))

    return ping


def blocking(path: str) -> Callable[[], object]:
    """A Ping through the blocking client."""
    from warden.client import Client

    client = Client(path)
    client.connect()
    return client.ping


def twisted_rounds(path: str, connections: int, windows: list[tuple[float, float]]
                   ) -> tuple[list[int], list[float]]:  # fmt: skip
    """CONNECTIONS connections in one reactor, each with one Ping in flight."""
    from twisted.internet import defer, reactor, task

    from warden.twisted_client import connect

    counts: list[int] = []
    latencies: list[float] = []
    react: Any = reactor
    clock = time.perf_counter

    async def one(conn: Any, end: float) -> int:
        count = 0
        request = PingRequest()
        while True:
            before = clock()
            await conn.call(request)
            after = clock()
            if time.monotonic() >= end:
                return count
            latencies.append(after - before)
            count += 1

    def sleep(seconds: float) -> defer.Deferred[None]:
        return task.deferLater(react, seconds, lambda: None)

    async def main() -> None:
        conns = [await connect(reactor, path) for _ in range(connections)]
        for start, end in windows:
            delay = start - time.monotonic()
            if delay > 0:
                await sleep(delay)
            done = await defer.gatherResults([defer.ensureDeferred(one(c, end)) for c in conns])
            counts.append(sum(done))
        for conn in conns:
            await conn.disconnect()

    failure: list[Any] = []
    d = defer.ensureDeferred(main())
    d.addErrback(failure.append)
    d.addBoth(lambda _: react.stop())
    react.run()
    if failure:
        failure[0].raiseException()
    return counts, latencies


def main() -> None:
    mode, path = sys.argv[1], sys.argv[2]
    connections, start = int(sys.argv[3]), float(sys.argv[4])
    rounds, seconds, period = int(sys.argv[5]), float(sys.argv[6]), float(sys.argv[7])
    windows = [(start + r * period, start + r * period + seconds) for r in range(rounds)]
    if mode == "twisted":
        counts, latencies = twisted_rounds(path, connections, windows)
    else:
        ping = raw_ping(path) if mode == "raw" else blocking(path)
        counts, latencies = blocking_rounds(ping, windows)
    json.dump({"counts": counts, "latencies": latencies}, sys.stdout)


if __name__ == "__main__":
    main()
