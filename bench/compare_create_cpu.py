"""The CPU time of a create, this checkout against another one.

    .venv/bin/python bench/compare_create_cpu.py /path/to/other/checkout [CREATES] [ROUNDS]

Starts one server from each checkout (``_server.BenchServer``, each in a
private network namespace) and, in every round, makes CREATES containers one
after the other on one server and then on the other, reading
``BenchServer.cpu_ms`` (the server, its spawner and every script they reaped)
before and after each block; the containers are destroyed after each block,
outside the measurement. Under a burst of creates the machine's CPU, not a
create's latency, sets the wall time: this is the figure to cut. Prints the
median over the rounds of the CPU milliseconds per create (in clock ticks:
use enough creates per block).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from _netns import private_netns
from _server import REPO, BenchServer

TIMEOUT = 120


def main() -> None:
    other = Path(sys.argv[1]).resolve()
    creates = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    cpu: dict[str, list[float]] = {"other": [], "this": []}
    with private_netns() as netns_a, private_netns() as netns_b, \
            BenchServer(netns_a, other) as server_a, BenchServer(netns_b) as server_b:  # fmt: skip
        servers = {"other": server_a, "this": server_b}
        clients = {name: server.client() for name, server in servers.items()}
        for client in clients.values():  # warm-up: the templates are made
            client.destroy(client.create(timeout=TIMEOUT).handle, timeout=TIMEOUT)
        for _ in range(rounds):
            for name, server in servers.items():
                client = clients[name]
                before = server.cpu_ms()
                handles = [client.create(timeout=TIMEOUT).handle for _ in range(creates)]
                cpu[name].append((server.cpu_ms() - before) / creates)
                for handle in handles:
                    client.destroy(handle, timeout=TIMEOUT)
        for client in clients.values():
            client.disconnect()
    print(f"this = {REPO}, other = {other}, {rounds} rounds of {creates} creates")
    for name, figures in cpu.items():
        print(f"{name:5}  CPU per create: median {statistics.median(figures):6.1f} ms "
              f"(rounds: {', '.join(f'{value:.1f}' for value in figures)})")  # fmt: skip


if __name__ == "__main__":
    main()
