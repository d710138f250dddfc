"""Create and destroy: the floor, crun, another checkout's server and this one's, in turn.

    .venv/bin/python bench/compare_cycle.py /path/to/other/checkout [CYCLES]

In every cycle each side creates a container and destroys it (the floor's
``floor/create.sh`` and ``floor/destroy.sh``, crun's when it is installed,
then a server of the other checkout and one of this checkout, each in a
private network namespace on the default configuration), so all of them see
the same load of a shared machine (what a destroy does after its answer is
let finish, untimed, before the next step). Prints min, median and p95 (ms) and the
ratio of each median to the floor's and to crun's. Like ``compare_bench.py``,
not part of ``make bench``; the other checkout needs its helpers built.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import crun_bench
from _netns import private_netns
from _report import summarize
from _server import REPO, BenchServer
from floor_bench import Floor
from linux_bench import CrunSide, FloorSide, WardenSide, destroys_finished


def main() -> None:
    other = Path(sys.argv[1]).resolve()
    cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with ExitStack() as stack:
        netns_a = stack.enter_context(private_netns())
        netns_b = stack.enter_context(private_netns())
        sides: dict[str, Any] = {"floor": FloorSide(stack.enter_context(Floor()))}
        if crun_bench.available():
            sides["crun"] = CrunSide(stack.enter_context(crun_bench.Crun()))
        servers: dict[str, BenchServer] = {}
        for name, netns, repo in (("other", netns_a, other), ("this", netns_b, REPO)):
            servers[name] = stack.enter_context(BenchServer(netns, repo))
            client = servers[name].client()
            stack.callback(client.disconnect)
            sides[name] = WardenSide(client)
        samples: dict[str, dict[str, list[float]]] = {
            name: {"create": [], "destroy": []} for name in sides
        }

        def timed(into: list[float], fn: Callable[..., Any], *args: Any) -> Any:
            start = time.perf_counter()
            result = fn(*args)
            into.append((time.perf_counter() - start) * 1000)
            return result

        for side in sides.values():  # warm-up: every code path once
            side.destroy(side.create())
        for _ in range(cycles):
            for name, side in sides.items():
                handle = timed(samples[name]["create"], side.create)
                timed(samples[name]["destroy"], side.destroy, handle)
                if name in servers:  # what goes on after the answer, untimed
                    destroys_finished(servers[name], time.perf_counter())
    print(f"this = {REPO}, other = {other}, {cycles} cycles")
    for figure in ("create", "destroy"):
        floor = summarize(samples["floor"][figure])["median"]
        crun = summarize(samples["crun"][figure])["median"] if "crun" in samples else None
        for name in sides:
            got = summarize(samples[name][figure])
            line = (f"{figure:8} {name:5}  min {got['min']:7.2f}  median {got['median']:7.2f}  "
                    f"p95 {got['p95']:7.2f} ms  x floor {got['median'] / floor:5.2f}")  # fmt: skip
            if crun:
                line += f"  x crun {got['median'] / crun:5.2f}"
            print(line)


if __name__ == "__main__":
    main()
