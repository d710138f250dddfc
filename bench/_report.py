"""Figures, tables and JSON for benchmark results.

A figure is min, median and p95 of repeated samples, optionally with its
floor (the same kernel work done without warden, measured in the same run),
the issue's target and the original Ruby Warden's figure. ``ratio`` is how
many times the floor the figure costs: warden / floor for times and memory,
floor / warden for rates, so above 1 is always worse than the floor.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

#: Units in which a larger figure is better.
RATES = ("req/s", "MiB/s", "frames/s")


def summarize(samples: list[float]) -> dict[str, float]:
    """min, median and p95 of samples (seconds or any unit)."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"min": ordered[0], "median": statistics.median(ordered), "p95": p95, "n": len(ordered)}


def repeat(fn: Callable[[], Any], times: int, warmup: int = 3) -> list[float]:
    """Wall time (seconds) of each of `times` calls of fn, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def timed_ms(fn: Callable[[], Any]) -> float:
    """Milliseconds one call of fn takes."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def run_ms(argv: list[str], **kwargs: Any) -> float:
    """Milliseconds a command takes to run to success."""
    return timed_ms(lambda: subprocess.run(argv, check=True, **kwargs))


@dataclass
class Target:
    """The bars for a figure's median, and the original's figure.

    ``limit`` is an absolute bar; ``ratio`` a bar on ``x floor`` and
    ``crun_ratio`` one on ``x crun`` (warden / crun's median), both measured in
    the same run, so they hold on a busier or quieter machine alike.
    """

    limit: float | None = None
    original: float | None = None
    ratio: float | None = None
    crun_ratio: float | None = None


@dataclass
class Figure:
    """One row of the table."""

    figure: str
    unit: str
    min: float
    median: float
    p95: float
    n: int
    floor: float | None = None
    ratio: float | None = None
    crun: float | None = None
    crun_ratio: float | None = None
    target: str | None = None
    verdict: str | None = None
    original: float | None = None

    @classmethod
    def of(cls, figure: str, unit: str, samples: list[float], floor: list[float] | None = None,
           target: Target | None = None, *, crun: list[float] | None = None,
           ) -> Figure:  # fmt: skip
        """A figure from its samples, its floor's and crun's samples, and its target."""
        stats = summarize(samples)
        row = cls(figure, unit, stats["min"], stats["median"], stats["p95"], int(stats["n"]))
        higher_better = unit in RATES
        row.floor, row.ratio = _reference(row.median, floor, higher_better)
        row.crun, row.crun_ratio = _reference(row.median, crun, higher_better)
        if target is not None:
            row.original = target.original
            bars = []
            verdicts = []
            if target.limit is not None:
                bars.append(f"{'>=' if higher_better else '<='} {target.limit:,g}")
                verdicts.append(_verdict(row.median, target.limit, unit, higher_better))
            for name, bar, ratio in (("floor", target.ratio, row.ratio),
                                     ("crun", target.crun_ratio, row.crun_ratio)):  # fmt: skip
                if bar is None:
                    continue
                bars.append(f"<= {bar:g}x {name}")
                verdicts.append("not measured" if ratio is None
                                else _verdict(ratio, bar, f"x {name}", False))  # fmt: skip
            if bars:
                row.target = ", ".join(bars)
                row.verdict = _summary(verdicts)
        return row


def _reference(median: float, samples: list[float] | None,
               higher_better: bool) -> tuple[float | None, float | None]:  # fmt: skip
    """A reference's median and how many times it the figure costs."""
    if not samples:
        return None, None
    reference = statistics.median(samples)
    if reference <= 0 or median <= 0:
        return reference, None
    return reference, reference / median if higher_better else median / reference


def _summary(verdicts: list[str]) -> str:
    missed = [v for v in verdicts if v != "met"]
    return "; ".join(missed) if missed else "met"


def _verdict(value: float, limit: float, unit: str, higher_better: bool) -> str:
    met = value >= limit if higher_better else value <= limit
    if met:
        return "met"
    gap = abs(value - limit)
    times = limit / value if higher_better else value / limit
    return f"missed by {_fmt(gap)} {unit} ({times:.2f}x)"


COLUMNS = ["figure", "unit", "min", "median", "p95", "n", "floor", "ratio", "crun", "crun_ratio",
           "target", "verdict", "original"]  # fmt: skip
HEADINGS = {"floor": "floor median", "ratio": "x floor", "crun": "crun median",
            "crun_ratio": "x crun", "original": "Ruby Warden"}  # fmt: skip


def print_table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A plain text table, one row per figure."""
    heads = [HEADINGS.get(c, c) for c in columns]
    widths = [max(len(h), *(len(_fmt(r.get(c))) for r in rows))
              for c, h in zip(columns, heads, strict=True)]  # fmt: skip
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        cells = [_fmt(row.get(c)).ljust(w) for c, w in zip(columns, widths, strict=True)]
        print("  ".join(cells).rstrip())


def print_figures(title: str, figures: list[Figure]) -> None:
    """The table of figures, leaving out columns no row fills."""
    rows = [asdict(f) for f in figures]
    columns = [c for c in COLUMNS if any(r.get(c) is not None for r in rows)]
    print_table(title, rows, columns)


def markdown_table(figures: list[Figure]) -> str:
    """The same table in Markdown (for README.md)."""
    rows = [asdict(f) for f in figures]
    columns = [c for c in COLUMNS if c not in ("min", "p95", "n")
               and any(r.get(c) is not None for r in rows)]  # fmt: skip
    lines = ["| " + " | ".join(HEADINGS.get(c, c) for c in columns) + " |",
             "|" + "---|" * len(columns)]  # fmt: skip
    for row in rows:
        lines.append("| " + " | ".join(_fmt(row.get(c)) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _fmt(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float):
        if value >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return "" if value is None else str(value)


def write_json(name: str, rows: list[dict[str, Any]] | list[Figure],
               **facts: Any) -> Path:  # fmt: skip
    """Write rows with machine facts (and ``facts``) to bench/results/<name>.json."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "kernel": platform.release(),
            "cpus": os.cpu_count(),
            "load": [round(x, 2) for x in os.getloadavg()],
            **facts,
        },
        "rows": [asdict(r) if isinstance(r, Figure) else r for r in rows],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
