"""The Linux backend through the real server: create, run `true`, destroy, idle memory.

Runs as root (skipped otherwise, and when the rootfs is missing: `make rootfs`).
The server runs in a private network namespace with a depot and cgroup parent
of its own, all removed afterwards. Each figure is printed beside the floor's
(`floor_bench.py`: the same steps with system tools and no warden).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _netns import in_netns, private_netns
from _report import print_table, summarize, write_json
from floor_bench import measure as measure_floor

from warden.client import Client, ClientConnectionError
from warden.protocol import PingRequest

REPO = Path(__file__).resolve().parents[1]
ROOTFS = Path("/var/lib/warden/rootfs")
SERVER_BIN = Path(sys.executable).with_name("warden-server")
CONTAINERS = 10
RUNS = 100


def _pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _start_server(base: Path, netns: str, parent: str) -> subprocess.Popen[bytes]:
    socket_path = base / "warden.sock"
    config = {
        "server": {
            "container_klass": "linux",
            "unix_domain_path": str(socket_path),
            "container_depot_path": str(base / "depot"),
            "container_rootfs_path": str(ROOTFS),
            "root_scripts_path": str(REPO / "root-scripts"),
            "container_grace_time": None,
            "cgroup_parent": parent,
        },
        "health_check_server": {"port": 0},
        "logging": {"level": "info", "file": str(base / "server.log")},
        "network": {"pool_network": "10.254.0.0/24", "release_delay": 0},
    }
    (base / "warden.yml").write_text(yaml.safe_dump(config))
    server = subprocess.Popen(
        in_netns(netns, [str(SERVER_BIN), "--config", str(base / "warden.yml")]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with Client(str(socket_path)) as client:
                client.call(PingRequest(), timeout=10)
            return server
        except (ClientConnectionError, FileNotFoundError):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("warden-server did not start") from None
            time.sleep(0.05)


def measure() -> tuple[dict[str, dict[str, float]], float]:
    """Milliseconds per figure, and KiB of PSS per idle container."""
    create, run, destroy = [], [], []
    parent = f"warden-bench-{os.getpid()}"
    with private_netns() as netns, tempfile.TemporaryDirectory(prefix="warden-bench-") as tmp:
        base = Path(tmp)
        server = _start_server(base, netns, parent)
        try:
            with Client(str(base / "warden.sock")) as client:
                handles = []
                for _ in range(CONTAINERS):
                    start = time.perf_counter()
                    handles.append(client.create().handle)
                    create.append((time.perf_counter() - start) * 1000)
                for _ in range(RUNS):
                    start = time.perf_counter()
                    client.run(handles[0], "true")
                    run.append((time.perf_counter() - start) * 1000)
                pss = 0
                for handle in handles:
                    path = Path(client.info(handle).container_path)
                    pss += _pss_kib(int((path / "run" / "init.pid").read_text()))
                for handle in handles:
                    start = time.perf_counter()
                    client.destroy(handle)
                    destroy.append((time.perf_counter() - start) * 1000)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
            for controller in ("cpu", "cpuacct", "memory", "devices", "pids", "freezer"):
                subprocess.run(["rmdir", f"/sys/fs/cgroup/{controller}/{parent}"], check=False)
            shutil.rmtree(base / "depot", ignore_errors=True)
    figures = {"create": summarize(create), "run true": summarize(run),
               "destroy": summarize(destroy)}  # fmt: skip
    return figures, pss / CONTAINERS


def main() -> None:
    if os.geteuid() != 0 or not (ROOTFS / ".warden-rootfs").exists():
        print("\nlinux backend: skipped (needs root and the rootfs: make rootfs)")
        return
    figures, pss = measure()
    floor = measure_floor(str(ROOTFS))
    rows = [
        {"figure": name, "unit": "ms", **stats, "floor median": floor[name]["median"]}
        for name, stats in figures.items()
    ]
    rows.append({"figure": "idle container PSS", "unit": "KiB", "median": pss, "n": CONTAINERS})
    columns = ["figure", "unit", "min", "median", "p95", "n", "floor median"]
    print_table("linux backend (through the server and the blocking client)", rows, columns)
    write_json("linux", rows)


if __name__ == "__main__":
    main()
