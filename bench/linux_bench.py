"""The Linux backend through the real server and the blocking client.

The same figures as the floor (``floor_bench.py``), same names and
repetitions: create, run `true`, destroy; a run printing 1 MiB; spawn and
stream of 8 MiB (MiB/s); copy_in and copy_out of 10 MiB in 100 files;
memory per live container with 10 and 50 alive (the server's RSS growth
per container plus the PSS of every process in the container's cgroup);
100 creates at once (wall time, failures) and their destroys.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _report import Figure, print_figures, write_json
from _server import BenchServer
from floor_bench import (
    BIG_RUNS,
    COPIES,
    CYCLES,
    RUNS,
    STREAM_BYTES,
    make_files,
    pss_kib,
    unit_of,
)

from warden.client import Client
from warden.protocol import StreamRequest

TIMEOUT = 120


def lifecycle(server: BenchServer) -> dict[str, list[float]]:
    """Create, run `true`, destroy (CYCLES containers, RUNS runs)."""
    create, run, destroy = [], [], []
    with server.client() as client:
        handle = client.create(timeout=TIMEOUT).handle  # warm-up: every code path once
        client.run(handle, "true", timeout=TIMEOUT)
        client.destroy(handle, timeout=TIMEOUT)
        for _ in range(CYCLES):
            start = time.perf_counter()
            handle = client.create(timeout=TIMEOUT).handle
            create.append((time.perf_counter() - start) * 1000)
            for _ in range(RUNS // CYCLES):
                start = time.perf_counter()
                _check(client.run(handle, "true", timeout=TIMEOUT))
                run.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            client.destroy(handle, timeout=TIMEOUT)
            destroy.append((time.perf_counter() - start) * 1000)
    return {"create": create, "run true": run, "destroy": destroy}


def _check(response: object, size: int = 0) -> None:
    status = getattr(response, "exit_status", 0)
    stdout = getattr(response, "stdout", b"")
    if status != 0 or len(stdout) != size:
        raise RuntimeError(f"run failed: exit {status}, {len(stdout)} bytes of output")


def output(client: Client, handle: str) -> dict[str, list[float]]:
    """A run printing 1 MiB, and spawn + stream of STREAM_BYTES (MiB/s)."""
    big = []
    for _ in range(BIG_RUNS):
        start = time.perf_counter()
        _check(client.run(handle, "head -c 1048576 /dev/zero", timeout=TIMEOUT), 1 << 20)
        big.append((time.perf_counter() - start) * 1000)
    rates = []
    for _ in range(COPIES):
        start = time.perf_counter()
        job = client.spawn(handle, f"head -c {STREAM_BYTES} /dev/zero", timeout=TIMEOUT).job_id
        received = 0
        for chunk in client.stream(StreamRequest(handle=handle, job_id=job)):
            received += len(chunk.data)
        seconds = time.perf_counter() - start
        if received != STREAM_BYTES:
            raise RuntimeError(f"streamed {received} bytes, expected {STREAM_BYTES}")
        rates.append(STREAM_BYTES / (1 << 20) / seconds)
    return {"run printing 1 MiB": big, "stream": rates}


def copies(client: Client, handle: str, source: Path, out: Path) -> dict[str, list[float]]:
    """10 MiB in 100 files into the container and out again (the directory itself:
    copying a directory's contents, ``src/``, into a missing directory fails in
    copy.sh, which cannot set the mode of the parent it unpacks in)."""
    copy_in, copy_out = [], []
    for i in range(COPIES):
        start = time.perf_counter()
        client.copy_in(handle, str(source), f"/tmp/in-{i}", timeout=TIMEOUT)
        copy_in.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        client.copy_out(handle, "/tmp/in-0/source", f"{out}/out-{i}", timeout=TIMEOUT)
        copy_out.append((time.perf_counter() - start) * 1000)
    if len(list((out / "out-0" / "source").iterdir())) != len(list(source.iterdir())):
        raise RuntimeError("copy_out did not bring every file back")
    return {"copy_in 10 MiB, 100 files": copy_in, "copy_out 10 MiB, 100 files": copy_out}


def container_pss(server: BenchServer, client: Client, handle: str) -> int:
    """PSS of every process in the container's cgroup (KiB)."""
    container_id = Path(client.info(handle, timeout=TIMEOUT).container_path).name
    return sum(pss_kib(pid) for pid in server.cgroup_procs(container_id))


def memory(server: BenchServer, counts: tuple[int, ...]) -> dict[str, list[float]]:
    """Per live container: PSS of its processes, the server's RSS growth, their sum."""
    figures: dict[str, list[float]] = {}
    handles: list[str] = []
    with server.client() as client:
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


def concurrent(server: BenchServer, count: int) -> dict[str, list[float]]:
    """``count`` creates at once, one connection each: wall (s), latencies (ms), failures."""

    def create(_: int) -> tuple[str | None, float]:
        start = time.perf_counter()
        try:
            with server.client() as client:
                handle = client.create(timeout=TIMEOUT).handle
        except Exception:
            return None, 0.0
        return handle, (time.perf_counter() - start) * 1000

    def destroy(handle: str) -> None:
        with server.client() as client:
            client.destroy(handle, timeout=TIMEOUT)

    with ThreadPoolExecutor(count) as pool:
        start = time.perf_counter()
        made = list(pool.map(create, range(count)))
        wall = time.perf_counter() - start
        handles = [h for h, _ in made if h is not None]
        start = time.perf_counter()
        list(pool.map(destroy, handles))
        destroy_wall = time.perf_counter() - start
    return {
        f"{count} concurrent creates: wall": [wall],
        f"{count} concurrent creates: failures": [float(count - len(handles))],
        f"{count} concurrent creates: each": [ms for h, ms in made if h is not None],
        f"{count} concurrent destroys: wall": [destroy_wall],
    }


def measure(server: BenchServer, *, memory_counts: tuple[int, ...] = (10, 50),
            concurrency: int = 100) -> dict[str, list[float]]:  # fmt: skip
    """Every warden figure's samples, by figure name (the floor's names)."""
    figures = lifecycle(server)
    with tempfile.TemporaryDirectory() as tmp, server.client() as client:
        Path(tmp).chmod(0o755)
        handle = client.create(timeout=TIMEOUT).handle
        try:
            figures |= output(client, handle)
            source = make_files(Path(tmp) / "source")
            out = Path(tmp) / "out"
            out.mkdir()
            figures |= copies(client, handle, source, out)
        finally:
            client.destroy(handle, timeout=TIMEOUT)
    figures |= memory(server, memory_counts)
    figures |= concurrent(server, concurrency)
    return figures


def main() -> None:
    from _netns import private_netns

    with private_netns() as netns, BenchServer(netns) as server:
        results = measure(server)
    figures = [Figure.of(name, unit_of(name), samples) for name, samples in results.items()]
    print_figures("linux backend (through the server and the blocking client)", figures)
    write_json("linux", figures)


if __name__ == "__main__":
    main()
