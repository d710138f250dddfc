"""The server's own CPU time per Run, this checkout against another one.

    .venv/bin/python bench/server_cpu_bench.py /path/to/other/checkout [RUNS] [ROUNDS] [SCRIPT]

Starts one server from each checkout (``_server.BenchServer``, each in a
private network namespace), makes a container on each, then in every round
runs SCRIPT (default `true`) RUNS times on one server and then the other,
reading the server's own ``utime + stime`` and minor page faults
(``/proc/PID/stat``; its children's are not counted) before and after each
block. Prints the median over the rounds of the CPU milliseconds and the
page faults per Run, and the wall milliseconds per Run.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

from _netns import private_netns
from _server import REPO, BenchServer

TIMEOUT = 120
TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` itself."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _minor_faults(pid: int) -> int:
    """Minor page faults of ``pid`` itself."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[7])


def main() -> None:
    other = Path(sys.argv[1]).resolve()
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    script = sys.argv[4] if len(sys.argv) > 4 else "true"
    checkouts = {"other": other, "this": REPO}
    cpu: dict[str, list[float]] = {name: [] for name in checkouts}
    wall: dict[str, list[float]] = {name: [] for name in checkouts}
    faults: dict[str, list[float]] = {name: [] for name in checkouts}
    with private_netns() as netns_a, private_netns() as netns_b, \
            BenchServer(netns_a, other) as server_a, BenchServer(netns_b) as server_b:  # fmt: skip
        servers = {"other": server_a, "this": server_b}
        clients = {name: server.client() for name, server in servers.items()}
        handles = {name: c.create(timeout=TIMEOUT).handle for name, c in clients.items()}
        for name in checkouts:  # warm-up
            for _ in range(5):
                clients[name].run(handles[name], script, timeout=TIMEOUT)
        for _ in range(rounds):
            for name, server in servers.items():
                before, started = _cpu_seconds(server.pid), time.perf_counter()
                faulted = _minor_faults(server.pid)
                for _ in range(runs):
                    response = clients[name].run(handles[name], script, timeout=TIMEOUT)
                    if response.exit_status != 0:
                        raise RuntimeError(f"run failed: exit {response.exit_status}")
                took = time.perf_counter() - started
                cpu[name].append((_cpu_seconds(server.pid) - before) * 1000 / runs)
                wall[name].append(took * 1000 / runs)
                faults[name].append((_minor_faults(server.pid) - faulted) / runs)
        for name, client in clients.items():
            client.destroy(handles[name], timeout=TIMEOUT)
            client.disconnect()
    print(f"this = {REPO}, other = {other}, {rounds} rounds of {runs} runs of `{script}`")
    for name in checkouts:
        print(f"{name:5}  server CPU per run: median {statistics.median(cpu[name]):5.2f} ms "
              f"(min {min(cpu[name]):5.2f}, max {max(cpu[name]):5.2f}); "
              f"page faults per run: median {statistics.median(faults[name]):7.1f}; "
              f"wall per run: median {statistics.median(wall[name]):6.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
