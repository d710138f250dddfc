"""Measure the Linux backend by hand (not a test): ``python -m tests_linux.bench [N]``.

Run as root from ``warden-server/``. Starts a server exactly as the tests do
(private network namespace, unique names), then reports: create and destroy
times, the wall time of ``run true`` end to end (client, server, job.sh,
nsenter, bash), and the PSS of N idle containers' processes. Everything it
made is removed at the end.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from .conftest import LINUX_SCRIPTS, ROOTFS, TOKEN, LinuxServer, sh


def _pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _ms(samples: list[float]) -> str:
    samples = sorted(samples)
    return (f"median {statistics.median(samples) * 1000:.1f} ms, "
            f"p90 {samples[int(len(samples) * 0.9)] * 1000:.1f} ms, "
            f"min {samples[0] * 1000:.1f} ms")  # fmt: skip


def main(count: int) -> None:
    subprocess.run([str(LINUX_SCRIPTS / "rootfs" / "setup.sh"), str(ROOTFS)], check=True)
    netns = f"warden-bench-{TOKEN}"
    sh("ip", "netns", "add", netns)
    sh("ip", "-n", netns, "link", "set", "lo", "up")
    base = Path(f"/tmp/warden-bench-{TOKEN}")
    base.mkdir()
    server = LinuxServer(base, netns, ROOTFS)
    try:
        server.start()
        with server.client() as client:
            creates, destroys, runs = [], [], []
            handles = []
            for _ in range(count):
                started = time.perf_counter()
                handles.append(client.create().handle)
                creates.append(time.perf_counter() - started)
            for _ in range(200):
                started = time.perf_counter()
                assert client.run(handles[0], "true").exit_status == 0
                runs.append(time.perf_counter() - started)
            time.sleep(1)
            total = 0
            for handle in handles:
                path = Path(client.info(handle).container_path)
                total += _pss_kib(int((path / "run" / "init.pid").read_text()))
            for handle in handles:
                started = time.perf_counter()
                client.destroy(handle)
                destroys.append(time.perf_counter() - started)
        print(f"create:   {_ms(creates)}")
        print(f"destroy:  {_ms(destroys)}")
        print(f"run true: {_ms(runs)}")
        print(f"idle PSS: {total / count:.0f} KiB per container ({count} containers, "
              "all their processes)")  # fmt: skip
    finally:
        server.stop()
        server.destroy_leftovers()
        for controller in ("cpu", "cpuacct", "memory", "devices", "pids", "freezer"):
            subprocess.run(["rmdir", str(server.cgroup_dir(controller))], check=False)
        subprocess.run(["rm", "-rf", str(base)], check=False)
        sh("ip", "netns", "del", netns, check=False)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
