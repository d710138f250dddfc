"""Ping: round trip and requests per second on 1 and on 8 connections, for the
blocking and the Twisted client, beside the floor (a plain socket client
against a Twisted server that answers with canned bytes: ``_ping_floor.py``).

Clients run in processes of their own (``_ping_worker.py``): the blocking
client's 8 connections are 8 processes, the Twisted client's 8 connections
share one reactor, as an agent's would. Each connection keeps one request in
flight; rates are counted over ROUNDS windows of SECONDS that all workers
share.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import Figure, print_figures, write_json

HERE = Path(__file__).resolve().parent
#: Timed rounds; the first is a warm-up and left out.
ROUNDS = 8
SECONDS = 0.5
GAP = 0.1
#: Time given to worker processes to start (imports) before the first window.
STARTUP = 1.0


def _workers(mode: str, path: str, processes: int, connections: int) -> list[dict[str, list]]:
    start = time.monotonic() + STARTUP
    argv = [sys.executable, str(HERE / "_ping_worker.py"), mode, path, str(connections),
            str(start), str(ROUNDS), str(SECONDS), str(GAP)]  # fmt: skip
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE) for _ in range(processes)]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60 + ROUNDS * (SECONDS + GAP))
        if proc.returncode != 0:
            raise RuntimeError(f"ping worker {mode} exited {proc.returncode}")
        results.append(json.loads(out))
    return results


def rates(mode: str, path: str, connections: int) -> tuple[list[float], list[float]]:
    """Requests/s of each round, and round trips (ms) of the first connection."""
    processes, per_process = (1, connections) if mode == "twisted" else (connections, 1)
    results = _workers(mode, path, processes, per_process)
    per_round = [sum(r["counts"][i] for r in results) / SECONDS for i in range(1, ROUNDS)]
    first = results[0]
    trips = first["latencies"][first["counts"][0]:]
    return per_round, [x * 1000 for x in trips]


def measure(socket_path: str) -> dict[str, list[float]]:
    """Warden's ping figures against the server at ``socket_path``."""
    figures: dict[str, list[float]] = {}
    for mode, label in (("blocking", "blocking client"), ("twisted", "Twisted client")):
        one, trips = rates(mode, socket_path, 1)
        figures[f"ping round trip, {label}"] = trips
        figures[f"ping, {label}, 1 connection"] = one
        figures[f"ping, {label}, 8 connections"] = rates(mode, socket_path, 8)[0]
    return figures


def measure_floor() -> dict[str, list[float]]:
    """The same with a plain socket client against canned answers."""
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/floor.sock"
        server = subprocess.Popen([sys.executable, str(HERE / "_ping_floor.py"), path])
        try:
            deadline = time.monotonic() + 30
            while not Path(path).exists():
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the ping floor server did not start")
                time.sleep(0.02)
            one, trips = rates("raw", path, 1)
            eight, _ = rates("raw", path, 8)
        finally:
            server.terminate()
            server.wait()
    return {"ping round trip": trips, "ping, 1 connection": one, "ping, 8 connections": eight}


def floor_name(name: str) -> str:
    """The floor figure a warden ping figure is compared with."""
    if name.startswith("ping round trip"):
        return "ping round trip"
    return "ping, " + name.rsplit(", ", 1)[1]


def unit_of(name: str) -> str:
    """ms for round trips, req/s for rates."""
    return "ms" if "round trip" in name else "req/s"


def main(socket_path: str | None = None) -> None:
    """Standalone: against a running server (argument), else the floor only."""
    floor = measure_floor()
    figures = [Figure.of(n, unit_of(n), s) for n, s in floor.items()]
    if socket_path:
        figures += [Figure.of(n, unit_of(n), s, floor[floor_name(n)])
                    for n, s in measure(socket_path).items()]  # fmt: skip
    print_figures("ping", figures)
    write_json("ping", figures)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
