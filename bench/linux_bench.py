"""The Linux backend through the real server and the blocking client, and the
same work done by the floor (``floor_bench.Floor``), step by step in turn.

Each timed step runs on the floor and then on warden, one after the other,
so both see the same machine (other work on it comes and goes): create, run
`true` and destroy; a run printing 1 MiB; spawn and stream of 8 MiB (MiB/s);
copy_in and copy_out of 10 MiB in 100 files. Then memory per live container
with 10 and 50 alive (the server's RSS growth per container plus the PSS of
every process in the container's cgroup), and 100 creates at once (wall
time, failures) and their destroys. Either side may be left out (None).
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _report import Figure, print_figures, write_json
from _server import BenchServer
from crun_bench import Crun
from floor_bench import Box, Floor, make_files, pss_kib, unit_of

from warden.client import Client
from warden.protocol import StreamRequest

TIMEOUT = 120
CYCLES = 20
RUNS = 100
BIG_RUNS = 30
STREAM_BYTES = 8 << 20
COPIES = 10
MIB_OUT = "head -c 1048576 /dev/zero"

Samples = dict[str, list[float]]


class WardenSide:
    """The steps through the server and the blocking client."""

    name = "warden"

    def __init__(self, client: Client) -> None:
        self.client = client

    def create(self) -> str:
        return self.client.create(timeout=TIMEOUT).handle

    def destroy(self, handle: str) -> None:
        self.client.destroy(handle, timeout=TIMEOUT)

    def run(self, handle: str, script: str, size: int = 0) -> None:
        response = self.client.run(handle, script, timeout=TIMEOUT)
        if response.exit_status != 0 or len(response.stdout) != size:
            raise RuntimeError(f"run failed: exit {response.exit_status}, "
                               f"{len(response.stdout)} bytes of output")  # fmt: skip

    def stream(self, handle: str) -> None:
        job = self.client.spawn(handle, f"head -c {STREAM_BYTES} /dev/zero",
                                timeout=TIMEOUT).job_id  # fmt: skip
        received = 0
        for chunk in self.client.stream(StreamRequest(handle=handle, job_id=job)):
            received += len(chunk.data)
        if received != STREAM_BYTES:
            raise RuntimeError(f"streamed {received} bytes, expected {STREAM_BYTES}")

    def copy_in(self, handle: str, source: Path, index: int) -> None:
        self.client.copy_in(handle, str(source), f"/tmp/in-{index}", timeout=TIMEOUT)

    def copy_out(self, handle: str, out: Path, index: int) -> None:
        self.client.copy_out(handle, "/tmp/in-0/source", f"{out}/warden-{index}",
                             timeout=TIMEOUT)  # fmt: skip


class FloorSide:
    """The same steps with system tools (``floor_bench.Floor``); handles are boxes."""

    name = "floor"

    def __init__(self, floor: Floor) -> None:
        self.floor = floor

    def create(self) -> Box:
        return self.floor.create()[0]

    def destroy(self, box: Box) -> None:
        self.floor.destroy(box)

    def run(self, box: Box, script: str, size: int = 0) -> None:
        done = subprocess.run(self.floor.run_argv(box, script), check=True,
                              stdout=subprocess.PIPE)  # fmt: skip
        if len(done.stdout) != size:
            raise RuntimeError(f"floor run printed {len(done.stdout)} bytes")

    def stream(self, box: Box) -> None:
        _bash(f"{self.floor.enter(box)} /bin/bash -c 'head -c {STREAM_BYTES} /dev/zero' "
              "| cat > /dev/null")  # fmt: skip

    def copy_in(self, box: Box, source: Path, index: int) -> None:
        into = box.path / "mnt" / "tmp" / f"in-{index}"
        _bash(f"tar -c -f - -C {source} . | {self.floor.enter(box)} "
              f"/bin/bash -c 'mkdir {into} && exec tar -x -p -m -f - -C {into}'")  # fmt: skip

    def copy_out(self, box: Box, out: Path, index: int) -> None:
        dst = out / f"floor-{index}"
        dst.mkdir()
        _bash(f"{self.floor.enter(box)} tar -c -f - -C {box.path}/mnt/tmp/in-0 . "
              f"| tar -x -p -m --no-same-owner -f - -C {dst}")  # fmt: skip


class CrunSide:
    """create, run and destroy with crun (``crun_bench.Crun``); handles are numbers."""

    name = "crun"

    def __init__(self, crun: Crun) -> None:
        self.crun = crun

    def create(self) -> int:
        return self.crun.create()

    def destroy(self, index: int) -> None:
        self.crun.destroy(index)

    def run(self, index: int, script: str, size: int = 0) -> None:
        done = subprocess.run(self.crun.run_argv(index, script), check=True,
                              stdout=subprocess.PIPE)  # fmt: skip
        if len(done.stdout) != size:
            raise RuntimeError(f"crun run printed {len(done.stdout)} bytes")


Side = WardenSide | FloorSide


def _bash(script: str) -> None:
    subprocess.run(["bash", "-c", script], check=True)


def _timed(samples: list[float], fn: Callable[..., Any], *args: Any) -> Any:
    start = time.perf_counter()
    result = fn(*args)
    samples.append((time.perf_counter() - start) * 1000)
    return result


def steps(sides: list[Side], tmp: Path,
          references: list[CrunSide] | None = None) -> dict[str, Samples]:  # fmt: skip
    """Every timed step, on each side in turn; samples by side name and figure.

    ``references`` take their turns in create, run `true` and destroy only.
    """
    cyclers: list[Side | CrunSide] = [*(references or []), *sides]
    samples: dict[str, Samples] = {side.name: defaultdict(list) for side in cyclers}
    for side in cyclers:  # warm-up: every code path once
        side.destroy(side.create())
    for _ in range(CYCLES):
        for side in cyclers:
            got = samples[side.name]
            handle = _timed(got["create"], side.create)
            for _ in range(RUNS // CYCLES):
                _timed(got["run true"], side.run, handle, "true")
            _timed(got["destroy"], side.destroy, handle)
    handles = {side.name: side.create() for side in sides}
    try:
        for _ in range(BIG_RUNS):
            for side in sides:
                _timed(samples[side.name]["run printing 1 MiB"], side.run,
                       handles[side.name], MIB_OUT, 1 << 20)  # fmt: skip
        for _ in range(COPIES):
            for side in sides:
                _timed(samples[side.name]["stream"], side.stream, handles[side.name])
        source = make_files(tmp / "source")
        for index in range(COPIES):
            for side in sides:
                got, handle = samples[side.name], handles[side.name]
                _timed(got["copy_in 10 MiB, 100 files"], side.copy_in, handle, source, index)
                _timed(got["copy_out 10 MiB, 100 files"], side.copy_out, handle, tmp, index)
    finally:
        for side in sides:
            side.destroy(handles[side.name])
    if (tmp / "warden-0").exists() and len(list((tmp / "warden-0" / "source").iterdir())) != 100:
        raise RuntimeError("copy_out did not bring every file back")
    for got in samples.values():  # milliseconds per STREAM_BYTES -> MiB/s
        got["stream"] = [STREAM_BYTES / (1 << 20) / (ms / 1000) for ms in got["stream"]]
    return samples


def container_pss(server: BenchServer, client: Client, handle: str) -> int:
    """PSS of every process in the container's cgroup (KiB)."""
    container_id = Path(client.info(handle, timeout=TIMEOUT).container_path).name
    return sum(pss_kib(pid) for pid in server.cgroup_procs(container_id))


def memory(server: BenchServer, counts: tuple[int, ...]) -> Samples:
    """Per live container: PSS of its processes, the server's RSS growth, their sum.

    Measured first, on a server that has only made one container (every code
    path loaded): after large responses the allocator hands memory back to
    the system at moments of its own, and the growth per container (a few
    KiB) would drown in that.
    """
    figures: Samples = {}
    handles: list[str] = []
    with server.client() as client:
        client.destroy(client.create(timeout=TIMEOUT).handle, timeout=TIMEOUT)
        rss_before = server.rss_kib()
        try:
            for count in counts:
                while len(handles) < count:
                    handles.append(client.create(timeout=TIMEOUT).handle)
                growth = (server.rss_kib() - rss_before) / count
                pss = [float(container_pss(server, client, h)) for h in handles]
                figures[f"memory per container, {count} alive: processes (PSS)"] = pss
                figures[f"memory per container, {count} alive: server (RSS growth)"] = [growth]
                figures[f"memory per container, {count} alive: total"] = [p + growth for p in pss]
        finally:
            for handle in handles:
                client.destroy(handle, timeout=TIMEOUT)
    return figures


def floor_memory(floor: Floor, counts: tuple[int, ...]) -> Samples:
    """PSS of each floor box's process with ``counts`` boxes alive."""
    boxes: list[Box] = []
    figures: Samples = {}
    try:
        for count in counts:
            while len(boxes) < count:
                boxes.append(floor.create()[0])
            pss = [float(floor.pss_kib(b)) for b in boxes]
            figures[f"memory per container, {count} alive: processes (PSS)"] = pss
            figures[f"memory per container, {count} alive: total"] = pss
    finally:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(floor.destroy, boxes))
    return figures


def creates_at_once(
    server: BenchServer, count: int, pool: ThreadPoolExecutor
) -> tuple[float, list[tuple[str, float]]]:
    """``count`` creates at once on ``pool``, one connection each: the wall time
    (s) to the last answer and (handle, ms) of each create that succeeded."""

    def create(_: int) -> tuple[str | None, float]:
        start = time.perf_counter()
        try:
            with server.client() as client:
                handle = client.create(timeout=TIMEOUT).handle
        except Exception:
            return None, 0.0
        return handle, (time.perf_counter() - start) * 1000

    start = time.perf_counter()
    made = list(pool.map(create, range(count)))
    return time.perf_counter() - start, [(h, ms) for h, ms in made if h is not None]


def destroys_at_once(server: BenchServer, handles: list[str], pool: ThreadPoolExecutor) -> float:
    """Destroy ``handles`` at once on ``pool``, one connection each: the wall time (s)."""

    def destroy(handle: str) -> None:
        with server.client() as client:
            client.destroy(handle, timeout=TIMEOUT)

    start = time.perf_counter()
    list(pool.map(destroy, handles))
    return time.perf_counter() - start


def destroys_finished(server: BenchServer, since: float) -> float:
    """Seconds from ``since`` until the destroys answered have finished their
    last part (the depot's ``.trash``, where a destroy goes on after its
    answer, empty); at once for a server without one."""
    trash = server.depot / ".trash"
    while trash.is_dir() and any(trash.iterdir()):
        time.sleep(0.01)
    return time.perf_counter() - since


def concurrent(server: BenchServer, count: int) -> Samples:
    """``count`` creates at once, one connection each: wall (s), latencies (ms), failures."""
    pings: list[float] = []
    burst_over = threading.Event()

    def ping_meanwhile() -> None:
        with server.client() as client:
            while not burst_over.is_set():
                start = time.perf_counter()
                client.ping(timeout=TIMEOUT)
                pings.append((time.perf_counter() - start) * 1000)
                burst_over.wait(0.005)

    with ThreadPoolExecutor(count + 1) as pool:
        pinger = pool.submit(ping_meanwhile)
        wall, made = creates_at_once(server, count, pool)
        burst_over.set()
        pinger.result()
        handles = [h for h, _ in made]
        start = time.perf_counter()
        destroy_wall = destroys_at_once(server, handles, pool)
        finished = destroys_finished(server, start)
    return {
        f"{count} concurrent creates: wall": [wall],
        f"{count} concurrent creates: failures": [float(count - len(handles))],
        f"{count} concurrent creates: each": [ms for _, ms in made],
        f"{count} concurrent destroys: wall": [destroy_wall],
        f"{count} concurrent destroys: finished, wall": [finished],
        f"ping p99 on another connection during {count} creates at once": [_p99(pings)],
    }


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] if ordered else 0.0


def floor_concurrent(floor: Floor, count: int) -> Samples:
    """``count`` floor creates at once: wall time (s) and failures; their destroys."""
    indexes = [floor.new_index() for _ in range(count)]
    start = time.perf_counter()
    procs = [subprocess.Popen(floor.create_argv(i), stderr=subprocess.DEVNULL) for i in indexes]
    codes = [p.wait() for p in procs]
    wall = time.perf_counter() - start
    boxes = [floor.box(i) for i, code in zip(indexes, codes, strict=True) if code == 0]
    start = time.perf_counter()
    for p in [subprocess.Popen(floor.destroy_argv(b)) for b in boxes]:
        p.wait()
    return {
        f"{count} concurrent creates: wall": [wall],
        f"{count} concurrent creates: failures": [float(sum(c != 0 for c in codes))],
        f"{count} concurrent destroys: wall": [time.perf_counter() - start],
    }


def _extend(samples: Samples, more: Samples) -> None:
    for name, values in more.items():
        samples.setdefault(name, []).extend(values)


def measure(server: BenchServer | None, floor: Floor | None, *,
            crun: Crun | None = None,
            memory_counts: tuple[int, ...] = (10, 50), concurrency: int = 100,
            concurrency_rounds: int = 3,
            between: Callable[[], tuple[Samples, Samples]] | None = None,
            ) -> tuple[Samples, Samples, Samples]:  # fmt: skip
    """Samples by figure name: warden's, the floor's, crun's (empty for a side left out).

    Memory first (see ``memory``), then ``between`` (the ping suite in
    ``run.py``), the timed steps, and the 100 creates at once last, in
    ``concurrency_rounds`` rounds, the floor and warden in turn. (Two rounds'
    networks fit in the default pool while the first round's wait out the
    release delay.)
    """
    warden: Samples = {}
    floors: Samples = {}
    if server is not None:
        warden |= memory(server, memory_counts)
    if floor is not None:
        floors |= floor_memory(floor, memory_counts)
    if between is not None:
        more_warden, more_floors = between()
        warden |= more_warden
        floors |= more_floors
    client = server.client() if server else None
    sides: list[Side] = [FloorSide(floor)] if floor else []
    if client is not None:
        sides.append(WardenSide(client))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp).chmod(0o755)
            samples = steps(sides, Path(tmp), [CrunSide(crun)] if crun else None)
    finally:
        if client is not None:
            client.disconnect()
    warden |= samples.get("warden", {})
    floors |= samples.get("floor", {})
    for _ in range(concurrency_rounds):
        if floor is not None:
            _extend(floors, floor_concurrent(floor, concurrency))
        if server is not None:
            _extend(warden, concurrent(server, concurrency))
    return warden, floors, samples.get("crun", {})


def main() -> None:
    from _netns import private_netns

    with private_netns() as netns, BenchServer(netns) as server, Floor() as floor:
        warden, floors, _ = measure(server, floor)
    figures = [Figure.of(name, unit_of(name), samples, floors.get(name))
               for name, samples in warden.items()]  # fmt: skip
    print_figures("linux backend (through the server and the blocking client)", figures)
    write_json("linux", figures)


if __name__ == "__main__":
    main()
