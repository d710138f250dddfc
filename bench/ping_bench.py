"""Ping: round trip and requests per second on 1 and on 8 connections, for the
blocking and the Twisted client, beside the floor: a plain socket client
against a server that answers with canned bytes (``_ping_floor.py``).

Clients run in processes of their own (``_ping_worker.py``): the blocking
client's 8 connections are 8 processes, the Twisted client's 8 connections
share one reactor, as an agent's would; the floor's client is a plain socket
with as many processes as connections. Each connection keeps one request in
flight. Warden and its floor take turns: windows of SECONDS, the floor's in
the even slots and warden's in the odd ones, ROUNDS each (the first of each
left out as a warm-up), so both see the same machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _report import Figure, print_figures, write_json

HERE = Path(__file__).resolve().parent
#: Timed rounds per side; the first is a warm-up and left out.
ROUNDS = 8
SECONDS = 0.5
#: Between one side's window and the other's.
GAP = 0.1
#: Time given to worker processes to start (imports) before the first window.
STARTUP = 1.5

Samples = dict[str, list[float]]


def _workers(mode: str, path: str, processes: int, connections: int, *, start: float,
             period: float) -> list[subprocess.Popen[bytes]]:  # fmt: skip
    argv = [sys.executable, str(HERE / "_ping_worker.py"), mode, path, str(connections),
            str(start), str(ROUNDS), str(SECONDS), str(period)]  # fmt: skip
    return [subprocess.Popen(argv, stdout=subprocess.PIPE) for _ in range(processes)]


def _collect(procs: list[subprocess.Popen[bytes]]) -> tuple[list[float], list[float]]:
    """Requests/s of each round but the first, round trips (ms) of the first worker."""
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"ping worker exited {proc.returncode}")
        results.append(json.loads(out))
    rates = [sum(r["counts"][i] for r in results) / SECONDS for i in range(1, ROUNDS)]
    first = results[0]
    trips = first["latencies"][first["counts"][0] :]
    return rates, [x * 1000 for x in trips]


def compare(mode: str, path: str | None, floor_path: str | None,
            connections: int) -> tuple[tuple[list[float], list[float]] | None, ...]:  # fmt: skip
    """(rates, round trips) for ``mode`` at ``path`` and for the floor, in turns."""
    period = 2 * (SECONDS + GAP)
    start = time.monotonic() + STARTUP
    floor = path_procs = None
    if floor_path is not None:
        floor = _workers("raw", floor_path, connections, 1, start=start, period=period)
    if path is not None:
        processes, per_process = (1, connections) if mode == "twisted" else (connections, 1)
        path_procs = _workers(
            mode, path, processes, per_process, start=start + period / 2, period=period
        )
    return (
        _collect(path_procs) if path_procs else None,
        _collect(floor) if floor else None,
    )


@contextmanager
def floor_server() -> Iterator[str]:
    """The ping floor's server on a socket of its own; its path."""
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/floor.sock"
        server = subprocess.Popen([sys.executable, str(HERE / "_ping_floor.py"), path])
        try:
            deadline = time.monotonic() + 30
            while not Path(path).exists():
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the ping floor server did not start")
                time.sleep(0.02)
            yield path
        finally:
            server.terminate()
            server.wait()


def measure(socket_path: str | None) -> tuple[Samples, Samples]:
    """Warden's ping figures against the server at ``socket_path`` (None: the floor
    only), and the floor's, by the same figure names."""
    warden: Samples = {}
    floor: Samples = {}
    with floor_server() as floor_path:
        for mode, label in (("blocking", "blocking client"), ("twisted", "Twisted client")):
            for connections in (1, 8):
                ours, theirs = compare(mode, socket_path, floor_path, connections)
                name = f"ping, {label}, {connections} connection{'s' if connections > 1 else ''}"
                for into, got in ((warden, ours), (floor, theirs)):
                    if got is not None:
                        into[name] = got[0]
                        if connections == 1:
                            into[f"ping round trip, {label}"] = got[1]
    return warden, floor


def unit_of(name: str) -> str:
    """ms for round trips and latency percentiles, req/s for rates."""
    return "ms" if "round trip" in name or " p99 " in name else "req/s"


def main(socket_path: str | None = None) -> None:
    """Standalone: against a running server (argument), else the floor alone."""
    warden, floor = measure(socket_path)
    figures = [Figure.of(n, unit_of(n), s, floor.get(n)) for n, s in warden.items()]
    figures = figures or [Figure.of(n, unit_of(n), s) for n, s in floor.items()]
    print_figures("ping", figures)
    write_json("ping", figures)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
