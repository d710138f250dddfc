"""Creates from the warm pool (``server.container_pool_size``), beside their floor.

A server of its own, on the default configuration plus a pool of ``POOL``
containers (made before anything is timed). A create from the pool does no
kernel work: it renames a container made in advance, writes its snapshot and
answers. Its floor is therefore the same server answering a Ping on the same
connection (one request, one response, nothing else), taken in turn with
each create; ``x floor`` is what taking a pooled container costs beyond the
round trip itself.

- create from the pool: ``SEQUENTIAL`` creates one after the other on one
  connection (the refill of the one before runs meanwhile, as it would);
- ``BURST`` creates at once, one connection each, while the pool lasts (it
  is full when they start): the wall time from the first to the last
  answer, and its floor, ``BURST`` pings at once, one connection each, on
  the same server just before.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _server import BenchServer
from linux_bench import creates_at_once, destroys_at_once

TIMEOUT = 120
#: Enough for the burst and some to spare.
POOL = 105
SEQUENTIAL = 30
BURST = 100
#: Seconds the server gets to destroy its pool at exit.
STOP_TIMEOUT = 300

Samples = dict[str, list[float]]


def pooled(depot: Path) -> set[str]:
    """Ids of the idle pooled containers, by their snapshots."""
    found = set()
    for path in depot.iterdir():
        try:
            snapshot = json.loads((path / "snapshot.json").read_text())
        except (OSError, ValueError):
            continue
        if snapshot.get("pooled") is True:
            found.add(path.name)
    return found


def wait_full(server: BenchServer, size: int = POOL, timeout: float = 900) -> set[str]:
    """Wait until the pool is full; its ids."""
    deadline = time.monotonic() + timeout
    while len(ids := pooled(server.depot)) < size:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the pool has {len(ids)} of {size} containers after {timeout} s")
        time.sleep(0.2)
    return ids


def sequential(server: BenchServer, warden: Samples, floor: Samples) -> None:
    """One create from the pool after the other, each after a ping (its floor)."""
    name = "create from the pool"
    with server.client() as client:
        handles = []
        try:
            for _ in range(3):  # warm-up: every code path once
                client.ping(timeout=TIMEOUT)
                handles.append(client.create(timeout=TIMEOUT).handle)
            for _ in range(SEQUENTIAL):
                start = time.perf_counter()
                client.ping(timeout=TIMEOUT)
                floor[name].append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                handles.append(client.create(timeout=TIMEOUT).handle)
                warden[name].append((time.perf_counter() - start) * 1000)
        finally:
            for handle in handles:
                client.destroy(handle, timeout=TIMEOUT)


def burst(server: BenchServer, warden: Samples, floor: Samples) -> None:
    """``BURST`` pings at once (the floor), then ``BURST`` creates at once."""
    ready = wait_full(server)
    name = f"{BURST} creates at once from the pool"

    def ping(_: int) -> None:
        with server.client() as client:
            client.ping(timeout=TIMEOUT)

    with ThreadPoolExecutor(BURST) as pool:
        start = time.perf_counter()
        list(pool.map(ping, range(BURST)))
        floor[f"{name}: wall"].append(time.perf_counter() - start)
        wall, made = creates_at_once(server, BURST, pool)
        warden[f"{name}: wall"].append(wall)
        handles = [h for h, _ in made]
        warden[f"{name}: failures"].append(float(BURST - len(handles)))
        warden[f"{name}: not from the pool"].append(float(len(set(handles) - ready)))
        warden[f"{name}: each"].extend(ms for _, ms in made)
        destroys_at_once(server, handles, pool)


def measure(netns: str) -> tuple[Samples, Samples]:
    """Samples by figure name: warden's and the floor's."""
    warden: Samples = defaultdict(list)
    floor: Samples = defaultdict(list)
    with BenchServer(netns, server={"container_pool_size": POOL},
                     stop_timeout=STOP_TIMEOUT) as server:  # fmt: skip
        wait_full(server)
        sequential(server, warden, floor)
        burst(server, warden, floor)
    return dict(warden), dict(floor)


def main() -> None:
    from _netns import private_netns
    from _report import Figure, print_figures, write_json
    from floor_bench import unit_of

    with private_netns() as netns:
        warden, floors = measure(netns)
    figures = [Figure.of(name, unit_of(name), samples, floors.get(name))
               for name, samples in warden.items()]  # fmt: skip
    print_figures("creates from the warm pool (floor: a ping on the same server)", figures)
    write_json("pool", figures)


if __name__ == "__main__":
    main()
