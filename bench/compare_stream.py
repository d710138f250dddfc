"""Spawn and stream of 8 MiB: another checkout's server, this one's and the floor, interleaved.

    .venv/bin/python bench/compare_stream.py /path/to/other/checkout [ROUNDS]

One server from each checkout (each in a private network namespace, on the
default configuration; ``_server.BenchServer``) and the floor's box; in each
round, ``linux_bench``'s stream step on each in turn (the job printing 8 MiB
spawned and streamed by the blocking client of this checkout; the floor's
same job through a pipe to cat). Prints each side's median (ms, MiB/s) and
its ratio to the floor's rate. Like ``compare_bench.py``, not part of
``make bench``; the other checkout needs its helpers built.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from _netns import private_netns
from _server import BenchServer
from floor_bench import Floor
from linux_bench import STREAM_BYTES, FloorSide, WardenSide


def main() -> None:
    other = Path(sys.argv[1]).resolve()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    mib = STREAM_BYTES / (1 << 20)
    with private_netns() as netns_a, private_netns() as netns_b, \
            BenchServer(netns_a, other) as server_a, BenchServer(netns_b) as server_b, \
            Floor() as floor:  # fmt: skip
        sides = {"other": WardenSide(server_a.client()), "this": WardenSide(server_b.client())}
        floor_side = FloorSide(floor)
        handles = {name: side.create() for name, side in sides.items()}
        box = floor_side.create()
        took: dict[str, list[float]] = {name: [] for name in (*sides, "floor")}
        try:
            steps = [(name, side.stream, handles[name]) for name, side in sides.items()]
            steps.append(("floor", floor_side.stream, box))  # type: ignore[arg-type]
            for _, step, handle in steps:  # warm-up
                step(handle)
            for _ in range(rounds):
                for name, step, handle in steps:
                    start = time.perf_counter()
                    step(handle)
                    took[name].append(time.perf_counter() - start)
        finally:
            for name, side in sides.items():
                side.destroy(handles[name])
            floor_side.destroy(box)
    floor_median = statistics.median(took["floor"])
    this = Path(__file__).resolve().parents[1]
    print(f"this = {this}, other = {other}, {rounds} rounds; medians:")
    for name, samples in took.items():
        median = statistics.median(samples)
        print(f"{name:6s} {median * 1000:6.1f} ms  {mib / median:5.0f} MiB/s  "
              f"x floor {floor_median / median:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
