"""The floor: create, run and destroy done directly with system tools, no warden.

Each warden figure in `make bench` is printed beside the matching floor figure,
so results compare across machines.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from _netns import cgroup_parent, in_netns, private_netns
from _report import print_table, summarize, write_json

FLOOR = Path(__file__).resolve().parent / "floor"
CYCLES = 20


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    return (time.perf_counter() - start) * 1000


def measure(rootfs: str = "/") -> dict[str, dict[str, float]]:
    """Milliseconds for create, run of `true` and destroy, CYCLES times each."""
    create, run, destroy = [], [], []
    with private_netns() as netns, cgroup_parent() as parent, tempfile.TemporaryDirectory() as tmp:
        for index in range(CYCLES):
            box = f"{tmp}/c{index}"
            create.append(
                _timed(in_netns(netns, [str(FLOOR / "create.sh"), box, rootfs, parent, str(index)]))
            )
            for _ in range(5):
                run.append(_timed([str(FLOOR / "run.sh"), box]))
            destroy.append(
                _timed(in_netns(netns, [str(FLOOR / "destroy.sh"), box, parent, str(index)]))
            )
    return {"create": summarize(create), "run true": summarize(run), "destroy": summarize(destroy)}


def main() -> None:
    results = measure()
    rows = [{"figure": name, "unit": "ms", **stats} for name, stats in results.items()]
    columns = ["figure", "unit", "min", "median", "p95", "n"]
    print_table("floor (system tools, no warden)", rows, columns)
    write_json("floor", rows)


if __name__ == "__main__":
    main()
