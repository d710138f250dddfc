"""100 creates at once: the floor, another checkout's server and this one's, in turn.

    .venv/bin/python bench/compare_burst.py /path/to/other/checkout [ROUNDS] [COUNT]

Each round runs ``linux_bench.floor_concurrent`` and then
``linux_bench.concurrent`` on a server from the other checkout and on one
from this checkout (each in a private network namespace, on the default
configuration): COUNT creates at once (default 100), one connection each,
with pings on another connection meanwhile, then their destroys. Prints per
round the wall time of the creates and of the destroys (s; in brackets,
until the destroys had also finished what goes on after their answers) and
the pings' p99 (ms). Like ``compare_bench.py``, not part of ``make bench``; the other
checkout needs its helpers built.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import linux_bench
from _netns import private_netns
from _server import REPO, BenchServer
from floor_bench import Floor


def main() -> None:
    other = Path(sys.argv[1]).resolve()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    wall = f"{count} concurrent creates: wall"
    destroys = f"{count} concurrent destroys: wall"
    finished = f"{count} concurrent destroys: finished, wall"
    ping = f"ping p99 on another connection during {count} creates at once"
    got: dict[str, dict[str, list[float]]] = {"floor": {}, "other": {}, "this": {}}
    with private_netns() as netns_a, private_netns() as netns_b, \
            BenchServer(netns_a, other) as server_a, BenchServer(netns_b) as server_b, \
            Floor() as floor:  # fmt: skip
        for round_ in range(rounds):
            steps: dict[str, Callable[[], dict[str, list[float]]]] = {
                "floor": lambda: linux_bench.floor_concurrent(floor, count),
                "other": lambda: linux_bench.concurrent(server_a, count),
                "this": lambda: linux_bench.concurrent(server_b, count),
            }
            for name, step in steps.items():
                figures = step()
                for figure, values in figures.items():
                    got[name].setdefault(figure, []).extend(values)
                line = (f"round {round_}  {name:5}  creates {figures[wall][0]:7.2f} s"
                        f"  destroys {figures[destroys][0]:7.2f} s")  # fmt: skip
                if finished in figures:
                    line += f"  (finished {figures[finished][0]:5.2f} s)"
                if ping in figures:
                    line += f"  ping p99 {figures[ping][0]:8.2f} ms"
                print(line, flush=True)
    print(f"this = {REPO}, other = {other}, {rounds} rounds of {count}; medians:")
    for name, figures in got.items():
        line = (f"{name:5}  creates {statistics.median(figures[wall]):7.2f} s"
                f"  destroys {statistics.median(figures[destroys]):7.2f} s")  # fmt: skip
        if finished in figures:
            line += f"  (finished {statistics.median(figures[finished]):5.2f} s)"
        if ping in figures:
            line += f"  ping p99 {statistics.median(figures[ping]):8.2f} ms"
        print(line)


if __name__ == "__main__":
    main()
