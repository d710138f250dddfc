"""`make bench`: every benchmark suite, then warden beside its floor and its targets.

1. the protocol micro-benchmark (frames/s) and warden-exec against nsenter;
2. as root with the rootfs (`make rootfs`): the floor (system tools, no
   warden: ``floor_bench.py``, ``_ping_floor.py``), then warden on its
   default configuration (Linux backend, networking, cgroups) in a private
   network namespace (``linux_bench.py``, ``ping_bench.py``);
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

#: The issue's targets (medians on a 2-core machine) and the original's figures.
TARGETS = {
    "create": Target(150, 282),
    "destroy": Target(100, 324),
    "run true": Target(10, 40),
    "run printing 1 MiB": Target(None, 54),
    "ping round trip, blocking client": Target(None, 0.13),
    "ping, blocking client, 1 connection": Target(10_000, 7_100),
    "ping, blocking client, 8 connections": Target(25_000, 17_500),
    "ping round trip, Twisted client": Target(None, 0.13),
    "ping, Twisted client, 1 connection": Target(10_000, 7_100),
    "ping, Twisted client, 8 connections": Target(25_000, 17_500),
    "memory per container, 10 alive: processes (PSS)": Target(1024, 870),
    "memory per container, 50 alive: processes (PSS)": Target(1024, 870),
}


def floor_for(name: str, floor: dict[str, list[float]]) -> list[float] | None:
    """The floor samples a warden figure is compared with (None: it has none)."""
    import ping_bench

    if name in floor:
        return floor[name]
    if name.startswith("ping"):
        return floor.get(ping_bench.floor_name(name))
    if name.endswith(": total"):
        return floor.get(name.replace(": total", ": processes (PSS)"))
    return None


def unit_of(name: str) -> str:
    """The unit of a figure, by its name."""
    import floor_bench
    import ping_bench

    return ping_bench.unit_of(name) if name.startswith("ping") else floor_bench.unit_of(name)


def linux_figures() -> list[Figure]:
    """Floor, then warden, each figure paired with its floor and target."""
    import floor_bench
    import linux_bench
    import ping_bench
    from _netns import private_netns
    from _server import BenchServer

    floor = floor_bench.measure() | ping_bench.measure_floor()
    with private_netns() as netns, BenchServer(netns) as server:
        warden = ping_bench.measure(server.socket_path) | linux_bench.measure(server)
    return [
        Figure.of(name, unit_of(name), samples, floor_for(name, floor), TARGETS.get(name))
        for name, samples in warden.items()
    ]


def main() -> None:
    import protocol_bench
    import warden_exec_bench

    started = time.monotonic()
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
        "Ruby Warden: the original on this kind of machine. Loads: "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"whole run {time.monotonic() - started:.0f} s."
    )
    write_json("warden", figures)
    (RESULTS / "warden.md").write_text(markdown_table(figures))


if __name__ == "__main__":
    main()
