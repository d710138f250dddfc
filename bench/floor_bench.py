"""The floor: what warden does, done directly with system tools and no warden.

Each warden figure in `make bench` is printed beside the matching floor
figure, measured in the same run, so results compare across machines:

- create: unshare of five namespaces, overlay mount, cgroup directories,
  veth pair, addresses, route, one iptables rule (floor/create.sh);
- destroy: the reverse (floor/destroy.sh);
- run: nsenter into the container as an unprivileged user, then bash
  (floor/run.sh); throughput: the same job's output through a pipe to cat;
- copy: tar through a pipe into (out of) tar run in the container;
- memory: PSS of the container's one process (a sleeping PID 1).

Everything runs in a private network namespace with a cgroup parent and a
directory of its own, all removed afterwards.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from _netns import cgroup_parent, in_netns, private_netns
from _report import Figure, print_figures, run_ms, write_json

FLOOR = Path(__file__).resolve().parent / "floor"
ROOTFS = "/var/lib/warden/rootfs"
VCAP = "10000"


@dataclass(frozen=True)
class Box:
    """A floor container: its directory, index (names, addresses) and PID 1."""

    path: Path
    index: int
    pid: int


class Floor:
    """``with Floor() as floor:`` make and remove floor containers."""

    def __init__(self, rootfs: str = ROOTFS) -> None:
        self.rootfs = rootfs
        self._stack = ExitStack()
        self._next = 0
        self.netns = ""
        self.parent = ""
        self.tmp = Path()

    def __enter__(self) -> Floor:
        self.netns = self._stack.enter_context(private_netns("warden-floor"))
        self.parent = self._stack.enter_context(cgroup_parent("warden-floor"))
        self.tmp = Path(self._stack.enter_context(tempfile.TemporaryDirectory()))
        self.tmp.chmod(0o755)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        for box in sorted(self.tmp.glob("c*")):
            subprocess.run(self.destroy_argv(Box(box, int(box.name[1:]), 0)), check=False)
        self._stack.close()

    def create_argv(self, index: int) -> list[str]:
        """The command that creates box number ``index``."""
        box = self.tmp / f"c{index}"
        return in_netns(self.netns, [str(FLOOR / "create.sh"), str(box), self.rootfs,
                                     self.parent, str(index)])  # fmt: skip

    def destroy_argv(self, box: Box) -> list[str]:
        """The command that destroys ``box``."""
        return in_netns(self.netns, [str(FLOOR / "destroy.sh"), str(box.path), self.parent,
                                     str(box.index)])  # fmt: skip

    def new_index(self) -> int:
        """A box number not used before in this run."""
        self._next += 1
        return self._next

    def box(self, index: int) -> Box:
        """The box made by ``create_argv(index)``."""
        path = self.tmp / f"c{index}"
        return Box(path, index, int((path / "pid").read_text()))

    def create(self) -> tuple[Box, float]:
        """A new box, and the milliseconds its creation took."""
        index = self.new_index()
        took = run_ms(self.create_argv(index))
        return self.box(index), took

    def destroy(self, box: Box) -> float:
        """Milliseconds to destroy a box."""
        return run_ms(self.destroy_argv(box))

    def run_argv(self, box: Box, script: str = "true") -> list[str]:
        """Run ``script`` in bash in the box as the unprivileged user."""
        return [str(FLOOR / "run.sh"), str(box.path), script]

    def enter(self, box: Box) -> str:
        """Shell words that run a command in the box as the unprivileged user."""
        return f"nsenter -t {box.pid} -m -u -i -n -p -S {VCAP} -G {VCAP}"

    def pss_kib(self, box: Box) -> int:
        """PSS of the box's process."""
        return pss_kib(box.pid)


def pss_kib(pid: int) -> int:
    """Proportional set size of a process."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def make_files(where: Path, count: int = 100, size: int = 100 * 1024) -> Path:
    """``count`` files of ``size`` random bytes in a new directory ``where``."""
    import os

    where.mkdir()
    for i in range(count):
        (where / f"f{i:03d}").write_bytes(os.urandom(size))
    return where


# -- the figures --

CYCLES = 20
RUNS = 100
BIG_RUNS = 30
STREAM_BYTES = 8 << 20
COPIES = 10


def lifecycle(floor: Floor) -> dict[str, list[float]]:
    """Create, run `true`, destroy (CYCLES boxes, RUNS runs)."""
    create, run, destroy = [], [], []
    for _ in range(CYCLES):
        box, took = floor.create()
        create.append(took)
        for _ in range(RUNS // CYCLES):
            run.append(run_ms(floor.run_argv(box)))
        destroy.append(floor.destroy(box))
    return {"create": create, "run true": run, "destroy": destroy}


def output(floor: Floor, box: Box) -> dict[str, list[float]]:
    """A run printing 1 MiB (captured through a pipe) and stream throughput (MiB/s)."""
    big = [run_ms(floor.run_argv(box, "head -c 1048576 /dev/zero"), stdout=subprocess.PIPE)
           for _ in range(BIG_RUNS)]  # fmt: skip
    pipe = f"{floor.enter(box)} /bin/bash -c 'head -c {STREAM_BYTES} /dev/zero' | cat > /dev/null"
    rates = [(STREAM_BYTES / (1 << 20)) / (run_ms(["bash", "-c", pipe]) / 1000)
             for _ in range(COPIES)]  # fmt: skip
    return {"run printing 1 MiB": big, "stream": rates}


def copies(floor: Floor, box: Box, source: Path, out: Path) -> dict[str, list[float]]:
    """tar through a pipe: 10 MiB in 100 files into the box and out again."""
    inner = box.path / "mnt" / "tmp"
    copy_in, copy_out = [], []
    for i in range(COPIES):
        into = f"{inner}/in-{i}"
        copy_in.append(run_ms(["bash", "-c",
            f"tar -c -f - -C {source} . | {floor.enter(box)} "
            f"/bin/bash -c 'mkdir {into} && exec tar -x -p -m -f - -C {into}'"]))  # fmt: skip
        dst = out / f"out-{i}"
        dst.mkdir()
        copy_out.append(run_ms(["bash", "-c",
            f"{floor.enter(box)} tar -c -f - -C {inner}/in-0 . "
            f"| tar -x -p -m --no-same-owner -f - -C {dst}"]))  # fmt: skip
    return {"copy_in 10 MiB, 100 files": copy_in, "copy_out 10 MiB, 100 files": copy_out}


def memory(floor: Floor, counts: tuple[int, ...]) -> dict[str, list[float]]:
    """PSS of each box's process with ``counts`` boxes alive."""
    boxes: list[Box] = []
    figures: dict[str, list[float]] = {}
    try:
        for count in counts:
            while len(boxes) < count:
                boxes.append(floor.create()[0])
            figures[f"memory per container, {count} alive: processes (PSS)"] = [
                float(floor.pss_kib(b)) for b in boxes
            ]
    finally:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(floor.destroy, boxes))
    return figures


def concurrent(floor: Floor, count: int) -> dict[str, list[float]]:
    """``count`` creates at once: wall time (s), each one's latency (ms), failures."""
    indexes = [floor.new_index() for _ in range(count)]
    start = time.perf_counter()
    procs = [subprocess.Popen(floor.create_argv(i), stderr=subprocess.DEVNULL) for i in indexes]
    codes = [p.wait() for p in procs]
    wall = time.perf_counter() - start
    boxes = [floor.box(i) for i, code in zip(indexes, codes, strict=True) if code == 0]
    start = time.perf_counter()
    procs = [subprocess.Popen(floor.destroy_argv(b)) for b in boxes]
    for p in procs:
        p.wait()
    destroy_wall = time.perf_counter() - start
    return {
        f"{count} concurrent creates: wall": [wall],
        f"{count} concurrent creates: failures": [float(sum(c != 0 for c in codes))],
        f"{count} concurrent destroys: wall": [destroy_wall],
    }


def measure(rootfs: str = ROOTFS, *, memory_counts: tuple[int, ...] = (10, 50),
            concurrency: int = 100) -> dict[str, list[float]]:  # fmt: skip
    """Every floor figure's samples, by figure name."""
    figures: dict[str, list[float]] = {}
    with Floor(rootfs) as floor, tempfile.TemporaryDirectory() as tmp:
        figures |= lifecycle(floor)
        box, _ = floor.create()
        try:
            figures |= output(floor, box)
            source = make_files(Path(tmp) / "source")
            out = Path(tmp) / "out"
            out.mkdir()
            figures |= copies(floor, box, source, out)
        finally:
            floor.destroy(box)
        figures |= memory(floor, memory_counts)
        figures |= concurrent(floor, concurrency)
    return figures


UNITS = {"stream": "MiB/s", "wall": "s", "failures": "", "memory": "KiB"}


def unit_of(name: str) -> str:
    """The unit a figure of this name is measured in (ms unless named otherwise)."""
    for word, unit in UNITS.items():
        if word in name:
            return unit
    return "ms"


def main() -> None:
    figures = [Figure.of(name, unit_of(name), samples) for name, samples in measure().items()]
    print_figures("floor (system tools, no warden)", figures)
    write_json("floor", figures)


if __name__ == "__main__":
    main()
