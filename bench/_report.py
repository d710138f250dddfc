"""Tables and JSON for benchmark results: min, median and p95 of repeated samples."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def summarize(samples: list[float]) -> dict[str, float]:
    """min, median and p95 of samples (seconds or any unit)."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"min": ordered[0], "median": statistics.median(ordered), "p95": p95, "n": len(ordered)}


def repeat(fn: Callable[[], Any], times: int, warmup: int = 3) -> list[float]:
    """Wall time of each of `times` calls of fn, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def print_table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A plain text table, one row per figure."""
    widths = [max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns]
    print(f"\n{title}")
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(_fmt(row.get(c)).ljust(w) for c, w in zip(columns, widths, strict=True)))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)


def write_json(name: str, rows: list[dict[str, Any]]) -> Path:
    """Write rows with machine facts to bench/results/<name>.json."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "kernel": platform.release()},
        "rows": rows,
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
