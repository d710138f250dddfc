"""Job latency of this checkout against another one (say main), interleaved.

    .venv/bin/python bench/compare_bench.py /path/to/other/checkout [ROUNDS]

Starts one server from each checkout (each in a private network namespace,
on the default configuration; ``_server.BenchServer``), makes a container on
each, then in every round times, on one server and then the other, runs of
`true` and runs printing 1 MiB. Interleaving puts both under the same load
of a shared machine. The floor takes its turn too: ``floor/run.sh`` (nsenter
and bash) into this checkout's container, as many runs as each server gets.
Prints min, median and p95 (ms) per checkout and the floor, and each
checkout's median over the floor's. The other checkout needs its helpers
built (``make helpers`` there).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _netns import private_netns
from _report import summarize
from _server import REPO, BenchServer

from warden.client import Client

TIMEOUT = 120
RUNS_TRUE = 10
RUNS_MIB = 3
MIB_OUT = "head -c 1048576 /dev/zero"
FLOOR_RUN = Path(__file__).resolve().parent / "floor" / "run.sh"


def _timed_run(client: Client, handle: str, script: str, size: int) -> float:
    start = time.perf_counter()
    response = client.run(handle, script, timeout=TIMEOUT)
    took = (time.perf_counter() - start) * 1000
    if response.exit_status != 0 or len(response.stdout) != size:
        raise RuntimeError(f"run failed: exit {response.exit_status}, {len(response.stdout)} bytes")
    return took


def _timed_floor(box: Path, script: str, size: int) -> float:
    start = time.perf_counter()
    printed = subprocess.run([str(FLOOR_RUN), str(box), script], check=True,
                             stdout=subprocess.PIPE).stdout  # fmt: skip
    took = (time.perf_counter() - start) * 1000
    if len(printed) != size:
        raise RuntimeError(f"floor run printed {len(printed)} bytes")
    return took


def main() -> None:
    other = Path(sys.argv[1]).resolve()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    checkouts = {"other": other, "this": REPO}
    samples: dict[str, dict[str, list[float]]] = {
        name: {"run true": [], "run printing 1 MiB": []} for name in (*checkouts, "floor")
    }
    with tempfile.TemporaryDirectory(prefix="warden-bench-floor-") as floor_dir, \
            private_netns() as netns_a, private_netns() as netns_b, \
            BenchServer(netns_a, other) as server_a, BenchServer(netns_b) as server_b:  # fmt: skip
        # floor/run.sh reads the pid to enter from DIR/pid: this container's init.
        box = Path(floor_dir)
        servers = {"other": server_a, "this": server_b}
        clients = {name: server.client() for name, server in servers.items()}
        handles = {name: c.create(timeout=TIMEOUT).handle for name, c in clients.items()}

        info = clients["this"].info(handles["this"], timeout=TIMEOUT)
        init = Path(info.container_path, "run", "init.pid").read_text()
        (box / "pid").write_text(init)

        def step(name: str, script: str, size: int) -> float:
            if name == "floor":
                return _timed_floor(box, script, size)
            return _timed_run(clients[name], handles[name], script, size)

        for name in checkouts:  # warm-up
            step(name, "true", 0)
            step(name, MIB_OUT, 1 << 20)
        for _ in range(rounds):
            for name in (*checkouts, "floor"):
                for _ in range(RUNS_TRUE):
                    samples[name]["run true"].append(step(name, "true", 0))
                for _ in range(RUNS_MIB):
                    samples[name]["run printing 1 MiB"].append(step(name, MIB_OUT, 1 << 20))
        for name, client in clients.items():
            client.destroy(handles[name], timeout=TIMEOUT)
            client.disconnect()
    print(f"this = {REPO}, other = {other}, {rounds} rounds")
    for figure in ("run true", "run printing 1 MiB"):
        floor = summarize(samples["floor"][figure])["median"]
        for name in (*checkouts, "floor"):
            got = summarize(samples[name][figure])
            print(f"{figure:20} {name:5}  min {got['min']:7.2f}  median {got['median']:7.2f}  "
                  f"p95 {got['p95']:7.2f} ms  (n={got['n']:.0f})  "
                  f"x floor {got['median'] / floor:5.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
