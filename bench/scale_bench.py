"""`make bench-scale`: many containers alive at once (not part of `make bench`).

One server (the default configuration in a private network namespace, its
pools widened to hold them: a /20 of /30 networks, as many uids) gets
``WARDEN_SCALE_N`` containers (default 1,000), created one after the other on
one connection, after one create and destroy (every code path and template
made; its teardown waited for, then the machine quiet: at least 90% idle over
a second). Figures: the create time of the first fifty and of the last
fifty (their medians' ratio; target 1.2 or less: one create varies by a
quarter either way, ten of them moved the ratio by as much) with the share
of the machine's CPUs busy meanwhile (these creates' own work included: a
difference between the two ends is someone else's), their CPU time (the
server's and its scripts': far less sensitive to the machine's load than
wall time), the server's RSS growth per
container (target 8 KiB or less; measured from the first container on, every
code path then loaded) and the ping round trip with all of them alive (p99;
target 5 ms or less). Then every container is destroyed, eight at once
(wall time, CPU time per destroy); the server, its cgroups and the namespace
are removed.

    .venv/bin/python bench/scale_bench.py [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _netns import private_netns  # noqa: E402
from _report import print_table, write_json  # noqa: E402
from _server import BenchServer  # noqa: E402

TIMEOUT = 120
#: Creates timed at each end of the run (5% of 1,000).
ENDS = 50
#: The machine counts as quiet at this idle share of its CPUs over QUIET_WINDOW s.
QUIET_IDLE, QUIET_WINDOW, QUIET_MAX = 0.9, 1.0, 180.0
PINGS = 2000
#: Pools for up to 1,024 containers (the /20 lives only in the namespace).
OVERRIDES: dict[str, dict[str, Any]] = {
    "network": {"pool_network": "10.240.0.0/20", "release_delay": 1},
    "user": {"pool_start_uid": 20000, "pool_size": 1100},
}
TARGETS = {"create, last / first": 1.2, "server RSS growth per container": 8.0,
           "ping p99 with all alive": 5.0}  # fmt: skip


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def _cpu_times() -> tuple[int, int]:
    """Busy and total clock ticks of every CPU since boot (/proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    total = sum(fields[:8])  # guest time is counted in user already
    return total - idle, total


def _busy_share(since: tuple[int, int]) -> float:
    busy, total = _cpu_times()
    return (busy - since[0]) / max(1, total - since[1])


def _wait_for_a_quiet_machine() -> float:
    """Until the machine's CPUs are QUIET_IDLE idle over QUIET_WINDOW
    seconds, QUIET_MAX at most; the busy share seen last. Work an earlier run
    left (the kernel frees a thousand network namespaces long after their
    containers are gone) would slow the first creates and flatter the ratio."""
    deadline = time.monotonic() + QUIET_MAX
    while True:
        since = _cpu_times()
        time.sleep(QUIET_WINDOW)
        busy = _busy_share(since)
        if busy <= 1 - QUIET_IDLE or time.monotonic() > deadline:
            return busy


def _figures(count: int, creates: list[float], cpu: list[float], rss_growth: float, *,
             pings: list[float], busy: dict[str, float]) -> dict[str, float]:  # fmt: skip
    ends = min(ENDS, max(1, count // 2))
    first, last = statistics.median(creates[:ends]), statistics.median(creates[-ends:])
    # The mean: CPU time is counted in clock ticks.
    cpu_first, cpu_last = statistics.mean(cpu[:ends]), statistics.mean(cpu[-ends:])
    return {
        "containers": float(count),
        "create, first (median, ms)": first,
        "create, last (median, ms)": last,
        "create, last / first": last / first,
        "machine busy, first creates (share)": busy["first"],
        "machine busy, last creates (share)": busy["last"],
        "create CPU, first (mean, ms)": cpu_first,
        "create CPU, last (mean, ms)": cpu_last,
        "create CPU, last / first": cpu_last / cpu_first if cpu_first else float("nan"),
        "server RSS growth per container": rss_growth / count,
        "ping median with all alive": statistics.median(pings),
        "ping p99 with all alive": _p99(pings),
    }


def _wait_for_teardowns(server: BenchServer) -> None:
    """Until every destroy's part after its answer has ended (its directory
    gone from the depot's ``.trash``): the warm-up container's would
    otherwise run beside the first timed creates and lift their figure."""
    trash = server.depot / ".trash"
    deadline = time.monotonic() + TIMEOUT
    while trash.is_dir() and any(trash.iterdir()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"destroys still running after {TIMEOUT} s: {trash}")
        time.sleep(0.05)


def measure(server: BenchServer, count: int) -> dict[str, float]:
    """Create ``count`` containers, measure, destroy them all.

    The figures are printed before the destroys: with many containers alive
    each destroy's firewall changes take long, and the teardown with them.
    """
    creates: list[float] = []
    cpu: list[float] = []
    handles: list[str] = []
    with server.client() as client:
        # Every code path loaded before the baseline (as linux_bench.memory does).
        client.destroy(client.create(timeout=TIMEOUT).handle, timeout=TIMEOUT)
        _wait_for_teardowns(server)
        print(f"  quiet: {_wait_for_a_quiet_machine():.0%} of the CPUs busy", flush=True)
        ends = min(ENDS, max(1, count // 2))
        busy: dict[str, float] = {}
        rss_before = server.rss_kib()
        try:
            for index in range(count):
                if index in (0, count - ends):
                    end_started = _cpu_times()
                start, start_cpu = time.perf_counter(), server.cpu_ms()
                handles.append(client.create(timeout=TIMEOUT).handle)
                creates.append((time.perf_counter() - start) * 1000)
                cpu.append(server.cpu_ms() - start_cpu)
                if index in (ends - 1, count - 1):
                    busy["first" if index == ends - 1 else "last"] = _busy_share(end_started)
                if (index + 1) % 100 == 0:
                    print(f"  {index + 1} alive", flush=True)
            rss_growth = server.rss_kib() - rss_before
            pings = []
            for _ in range(PINGS):
                start = time.perf_counter()
                client.ping(timeout=TIMEOUT)
                pings.append((time.perf_counter() - start) * 1000)
            figures = _figures(count, creates, cpu, rss_growth, pings=pings, busy=busy)
            print(f"  measured (destroying {len(handles)} now): {figures}", flush=True)
            print(f"  create times (ms), every 50th: {[round(t) for t in creates[::50]]}",
                  flush=True)  # fmt: skip
        finally:

            def destroy(handle: str) -> None:
                with server.client() as each:
                    each.destroy(handle, timeout=TIMEOUT)

            start, start_cpu = time.perf_counter(), server.cpu_ms()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(destroy, handles))
            wall, destroy_cpu = time.perf_counter() - start, server.cpu_ms() - start_cpu
            print(f"  {len(handles)} destroyed in {wall:.0f} s", flush=True)
    figures["destroy all, 8 at once (s)"] = wall
    figures["destroy CPU (mean, ms)"] = destroy_cpu / max(1, len(handles))
    return figures


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("WARDEN_SCALE_N", "1000"))
    with private_netns() as netns, BenchServer(netns, overrides=OVERRIDES) as server:
        figures = measure(server, count)
    rows = []
    for name, value in figures.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else ("met" if value <= target else "missed")
        rows.append({"figure": name, "value": round(value, 3), "target": target,
                     "verdict": verdict})  # fmt: skip
    print_table(f"{count} containers alive", rows, ["figure", "value", "target", "verdict"])
    write_json("scale", rows)


if __name__ == "__main__":
    main()
