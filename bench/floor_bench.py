"""The floor: what warden does, done directly with system tools and no warden.

Each warden figure in `make bench` is printed beside the matching floor
figure, measured in the same run, step by step in turn with warden's
(``linux_bench.py``), so results compare across machines:

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


UNITS = {"stream": "MiB/s", "wall": "s", "failures": "", "not from the pool": "", "memory": "KiB"}


def unit_of(name: str) -> str:
    """The unit a figure of this name is measured in (ms unless named otherwise)."""
    for word, unit in UNITS.items():
        if word in name:
            return unit
    return "ms"


def main() -> None:
    """The floor alone (the figures linux_bench.py measures, without warden)."""
    import linux_bench

    with Floor() as floor:
        _, floors, _ = linux_bench.measure(None, floor)
    figures = [Figure.of(name, unit_of(name), samples) for name, samples in floors.items()]
    print_figures("floor (system tools, no warden)", figures)
    write_json("floor", figures)


if __name__ == "__main__":
    main()
