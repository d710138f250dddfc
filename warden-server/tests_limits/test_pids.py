"""The pids controller contains a fork bomb: the host keeps forking."""

from __future__ import annotations

import subprocess

from limits_support import CGROUP_ROOT, CgroupSandbox

from warden.server.linux.cgroups import container_cgroup

# Forks children that sleep, until fork fails; bounded so that a broken limit
# cannot take the host down: it stops by itself after 2000 children.
FORKER = """
import os, sys, time
children = 0
while children < 2000:
    try:
        pid = os.fork()
    except BlockingIOError:
        print("refused", children, flush=True)
        break
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    children += 1
else:
    print("not refused", children, flush=True)
sys.stdin.read()
"""


def test_fork_bomb_is_contained(cgroups: CgroupSandbox) -> None:
    cgroups.create("c1")
    cgroup = container_cgroup("c1", cgroups.parent, root=CGROUP_ROOT)
    cgroup.set_pids_limit(50)
    bomb = cgroups.spawn(
        "c1",
        f"exec python3 -c '{FORKER}'",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert bomb.stdout is not None
    verdict, count = bomb.stdout.readline().split()
    assert verdict == b"refused"
    # bash's "exec" leaves one process (python) plus its children: 50 tasks in all.
    assert int(count) == 49
    assert len(cgroups.pids("c1")) == 50
    # The host is not starved: processes outside the container still start.
    assert subprocess.run(["true"], check=False).returncode == 0
    cgroups.kill_all("c1")
    bomb.wait()
