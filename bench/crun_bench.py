"""crun as a second reference: an OCI runtime doing a container's work in one process.

Where the floor (``floor_bench.py``) is the kernel work done with shell
tools, crun is what a runtime written in C makes of it: ``crun run --detach``
on a bundle whose root is an overlay over the same rootfs (crun makes the
namespaces and the cgroups), then a veth pair with a /30 and a default route,
as warden's containers have (``crun/create.sh``); ``crun exec`` of bash as the
unprivileged user for run; ``crun delete --force`` and the overlay unmounted
for destroy (``crun/destroy.sh``).

crun 1.8 refuses a hybrid host whose cgroup2 mount has a controller (this
machine's has hugetlb), so crun runs in a mount namespace of its own where a
tmpfs covers ``/sys/fs/cgroup/unified``: it then manages the v1 hierarchies
as on a legacy host. That namespace, the network namespace (the bench's own),
a state directory and the cgroup parent are removed afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from _netns import private_netns
from floor_bench import ROOTFS, VCAP

CRUN_SCRIPTS = Path(__file__).resolve().parent / "crun"
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: Holds crun's mount namespace: the v2 mount covered, then ready, then asleep.
_HOLDER = "mount -t tmpfs crun-legacy /sys/fs/cgroup/unified && echo ready && exec sleep infinity"


def available() -> bool:
    """Whether crun is installed (Debian's package ``crun``)."""
    return shutil.which("crun") is not None


def bundle_template(path: Path) -> None:
    """An OCI config for a sleeping PID 1 on the bundle's ``rootfs`` (cgroup: @CGROUP@)."""
    with tempfile.TemporaryDirectory() as spec_dir:
        subprocess.run(["crun", "spec"], cwd=spec_dir, check=True)
        config = json.loads((Path(spec_dir) / "config.json").read_text())
    config["root"] = {"path": "rootfs", "readonly": False}
    config["process"]["terminal"] = False
    config["process"]["args"] = ["/bin/sleep", "infinity"]
    config["linux"]["cgroupsPath"] = "@CGROUP@"
    path.write_text(json.dumps(config))


class Crun:
    """``with Crun() as crun:`` make and remove crun containers, by number."""

    def __init__(self, rootfs: str = ROOTFS, netns: str | None = None) -> None:
        self.rootfs = rootfs
        self.netns = netns or ""
        self._stack = ExitStack()
        self._next = 0
        self.parent = f"warden-crun-{id(self):x}"
        self.tmp = Path()
        self._holder: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Crun:
        if not self.netns:
            self.netns = self._stack.enter_context(private_netns("warden-crun"))
        self._stack.callback(self._remove_cgroup_parent)
        self.tmp = Path(self._stack.enter_context(tempfile.TemporaryDirectory()))
        self.tmp.chmod(0o755)
        (self.tmp / "state").mkdir()
        bundle_template(self.tmp / "config.template.json")
        self._holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "bash", "-c", _HOLDER],
            stdout=subprocess.PIPE,
        )
        self._stack.callback(self._stop_holder)
        assert self._holder.stdout is not None
        if self._holder.stdout.readline() != b"ready\n":
            raise RuntimeError("crun's mount namespace could not be made")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        # Mounts left by a create cut short go with the mount namespace.
        for box in sorted(self.tmp.glob("k*")):
            subprocess.run(self.destroy_argv(int(box.name[1:])), check=False,
                           stderr=subprocess.DEVNULL)  # fmt: skip
        self._stack.close()

    def _stop_holder(self) -> None:
        if self._holder is not None:
            self._holder.kill()
            self._holder.wait()
            if self._holder.stdout is not None:
                self._holder.stdout.close()

    def _remove_cgroup_parent(self) -> None:
        for hierarchy in CGROUP_ROOT.iterdir():
            parent = hierarchy / self.parent
            if parent.is_dir():
                parent.rmdir()

    def _enter(self, argv: list[str]) -> list[str]:
        assert self._holder is not None
        return ["nsenter", f"--mount=/proc/{self._holder.pid}/ns/mnt",
                f"--net=/run/netns/{self.netns}", *argv]  # fmt: skip

    def new_index(self) -> int:
        """A container number not used before in this run."""
        self._next += 1
        return self._next

    def create_argv(self, index: int) -> list[str]:
        """The command that creates container number ``index``."""
        return self._enter([
            str(CRUN_SCRIPTS / "create.sh"), str(self.tmp / f"k{index}"), self.rootfs,
            str(self.tmp / "config.template.json"), str(self.tmp / "state"),
            f"/{self.parent}/k{index}", str(index)])  # fmt: skip

    def destroy_argv(self, index: int) -> list[str]:
        """The command that destroys container number ``index``."""
        return self._enter([str(CRUN_SCRIPTS / "destroy.sh"), str(self.tmp / f"k{index}"),
                            str(self.tmp / "state"), str(index)])  # fmt: skip

    def run_argv(self, index: int, script: str = "true") -> list[str]:
        """Run ``script`` in bash in the container as the unprivileged user."""
        return self._enter(["crun", "--root", str(self.tmp / "state"), "exec", "--user",
                            f"{VCAP}:{VCAP}", f"k{index}", "/bin/bash", "-c", script])  # fmt: skip

    def create(self) -> int:
        """A new container's number."""
        index = self.new_index()
        subprocess.run(self.create_argv(index), check=True)
        return index

    def destroy(self, index: int) -> None:
        """Remove container number ``index``."""
        subprocess.run(self.destroy_argv(index), check=True)
