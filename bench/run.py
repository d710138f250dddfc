"""Run every benchmark suite that can run on this machine (`make bench`)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITES = ["protocol_bench.py", "floor_bench.py", "linux_bench.py"]


def main() -> None:
    sys.path.insert(0, str(HERE))
    for suite in SUITES:
        runpy.run_path(str(HERE / suite), run_name="__main__")


if __name__ == "__main__":
    main()
