"""`make bench`: every benchmark suite, then warden beside its floor and its targets.

1. the protocol micro-benchmark (frames/s) and warden-exec against nsenter;
2. as root with the rootfs (`make rootfs`): warden on its default
   configuration (Linux backend, networking, cgroups) in a private network
   namespace and its floor (system tools, no warden: ``floor_bench.py``,
   ``_ping_floor.py``), taking turns step by step so that both see the same
   machine (``ping_bench.py``, ``linux_bench.py``);
3. one table: each figure's min, median and p95, its floor's median, the
   ratio to it, the issue's target and whether it is met (by how much it is
   missed), and the original Ruby Warden's figure on this kind of machine.

JSON of every table goes to bench/results/ (``warden.json`` is the last
one; ``warden.md`` holds it in Markdown, as README.md shows it).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _report import RESULTS, Figure, Target, markdown_table, print_figures, write_json  # noqa: E402

#: The targets (medians on a 2-core machine) and the original's figures. The
#: ratios to the floor and to crun are measured in the same run, so they hold
#: whatever the machine's load; the absolute bars are the first round's.
TARGETS = {
    "create": Target(150, 282, ratio=1.5, crun_ratio=1.3),
    "destroy": Target(100, 324, ratio=1.5, crun_ratio=1.3),
    "run true": Target(10, 40, ratio=1.5),
    "run printing 1 MiB": Target(None, 54, ratio=1.5),
    "stream": Target(None, None, ratio=2.0),
    "ping round trip, blocking client": Target(None, 0.13),
    "ping, blocking client, 1 connection": Target(10_000, 7_100, ratio=1.5),
    "ping, blocking client, 8 connections": Target(25_000, 17_500),
    "ping round trip, Twisted client": Target(None, 0.13),
    "ping, Twisted client, 1 connection": Target(10_000, 7_100, ratio=2.0),
    "ping, Twisted client, 8 connections": Target(25_000, 17_500),
    "memory per container, 10 alive: processes (PSS)": Target(512, 870),
    "memory per container, 50 alive: processes (PSS)": Target(512, 870),
    "100 concurrent creates: wall": Target(None, None, ratio=1.5),
    "100 concurrent destroys: wall": Target(None, None, ratio=1.5),
    "ping p99 on another connection during 100 creates at once": Target(20),
    # The warm pool (pool_bench.py). One create: the floor is a ping on the
    # same server. 100 at once: the floor is that of 100 creates at once (the
    # same kernel work done directly), as for any create.
    "create from the pool": Target(5),
    "100 creates at once from the pool: wall": Target(None, ratio=1.5),
}


POOL_BURST = "100 creates at once from the pool: wall"

#: Table order: figure names by their beginnings.
ORDER = ["create", "destroy", "run true", "run printing", "stream", "copy_in", "copy_out",
         "ping round trip, blocking", "ping, blocking", "ping round trip, Twisted",
         "ping, Twisted", "memory per container, 10", "memory per container, 50",
         "100 concurrent creates: wall", "100 concurrent creates: failures",
         "100 concurrent creates: each", "100 concurrent destroys",
         "ping p99 on another connection",
         "100 creates at once from the pool"]  # fmt: skip
# ("create from the pool" goes with "create", right after it.)


def _order(name: str) -> int:
    return next((i for i, start in enumerate(ORDER) if name.startswith(start)), len(ORDER))


def unit_of(name: str) -> str:
    """The unit of a figure, by its name."""
    import floor_bench
    import ping_bench

    return ping_bench.unit_of(name) if name.startswith("ping") else floor_bench.unit_of(name)


def linux_figures() -> list[Figure]:
    """Warden and the floor, step by step in turn, each figure with its floor and target."""
    import linux_bench
    import ping_bench
    import pool_bench
    from _netns import private_netns
    from _server import BenchServer
    from crun_bench import Crun
    from floor_bench import Floor

    with private_netns() as netns, BenchServer(netns) as server, Floor() as floor, \
            Crun(netns=netns) as crun:  # fmt: skip
        warden, floors, cruns = linux_bench.measure(
            server, floor, crun=crun, between=lambda: ping_bench.measure(server.socket_path)
        )
    with private_netns() as netns:  # a server of its own, its pool made first
        pooled, pool_floors = pool_bench.measure(netns)
    warden |= pooled
    floors |= pool_floors
    floors[POOL_BURST] = floors["100 concurrent creates: wall"]
    return [
        Figure.of(
            name,
            unit_of(name),
            warden[name],
            floors.get(name),
            TARGETS.get(name),
            crun=cruns.get(name),
        )
        for name in sorted(warden, key=_order)  # stable: within a group, as measured
    ]


def main() -> None:
    import protocol_bench
    import warden_exec_bench

    started = time.monotonic()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    protocol_bench.main()
    if os.geteuid() != 0 or not Path("/var/lib/warden/rootfs/.warden-rootfs").exists():
        print("\nwarden-exec and the linux backend: skipped (needs root and the rootfs: "
              "make rootfs)")  # fmt: skip
        return
    warden_exec_bench.main()
    figures = linux_figures()
    print_figures(
        "warden (Linux backend, default configuration) beside the floor and the targets",
        figures,
    )
    print(
        "x floor: warden / floor (floor / warden for rates): how many times the floor it costs.\n"
        "Ruby Warden: the original on this kind of machine. Load averages at the start "
        f"{' '.join(f'{x:.2f}' for x in load_at_start)}, at the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (the 100 creates at once raise it); "
        f"whole run {time.monotonic() - started:.0f} s."
    )
    write_json("warden", figures, load_at_start=load_at_start)
    (RESULTS / "warden.md").write_text(markdown_table(figures))


if __name__ == "__main__":
    main()
