"""Create and destroy leave the host exactly as they found it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from warden.client import Client
from warden.protocol import CreateRequest
from warden.server.container._cgroups import CONTROLLERS

from .conftest import TIMEOUT, LinuxServer, output

BindMount = CreateRequest.BindMount


def _processes(server: LinuxServer) -> set[tuple[int, str]]:
    """Live processes that belong to this test session's containers or server:
    in the session's namespace (but the server), in its cgroups, or naming its
    directory. Zombies are left out: this machine's init reaps orphans (the
    containers' inits are its children) on a schedule of its own."""
    netns = os.stat(f"/run/netns/{server.netns}").st_ino
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == server.pid:
            continue
        try:
            stat = (entry / "stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cgroups = (entry / "cgroup").read_text()
            in_netns = os.stat(entry / "ns" / "net").st_ino == netns
        except OSError:
            continue
        if in_netns or server.cgroup_parent in cgroups or str(server.base) in cmdline:
            found.add((int(entry.name), cmdline))
    return found


def _snapshot(server: LinuxServer) -> dict[str, Any]:
    """What a container could leave behind on the host."""
    mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
    cgroups = []
    for controller in CONTROLLERS:
        top = server.cgroup_dir(controller)
        cgroups += [str(p) for p in top.rglob("*") if p.is_dir()]
    links = subprocess.run(["ip", "-n", server.netns, "-o", "link", "show"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    routes = subprocess.run(["ip", "-n", server.netns, "route", "show"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True, check=True).stdout
    return {
        "mounts": [m for m in mountinfo if str(server.base) in m or " - overlay " in m],
        "mount_count": len(mountinfo),
        "cgroups": sorted(cgroups),
        "links": sorted(line.split(":")[1].strip() for line in links.splitlines()),
        "routes": routes,
        "loops": [line for line in loops.splitlines() if str(server.base) in line],
        "processes": _processes(server),
        "depot": sorted(n for n in os.listdir(server.depot) if not n.startswith(".")),
    }


def test_twenty_cycles_leave_nothing_behind(
    tmp_path: Path, server: LinuxServer, client: Client
) -> None:
    before = _snapshot(server)
    for i in range(20):
        mount = BindMount(src_path=str(tmp_path), dst_path="/mnt/host", mode=BindMount.RO)
        handle = client.create(bind_mounts=[mount], timeout=TIMEOUT).handle
        job = client.spawn(handle, "sleep 1000 & sleep 1000").job_id
        assert output(client, handle, f"echo {i}") == f"{i}\n"
        if i % 2:
            client.stop(handle, kill=True, timeout=TIMEOUT)
        client.destroy(handle, timeout=TIMEOUT)
        assert job  # its processes went with the container
    after = _snapshot(server)
    # Other tests' servers may mount things meanwhile; ours must not have.
    before.pop("mount_count"), after.pop("mount_count")
    assert after == before
