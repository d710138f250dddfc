"""Jobs in real containers: limits, output, cgroups, and what an idle container costs."""

from __future__ import annotations

from pathlib import Path

from warden.client import Client
from warden.protocol import ResourceLimits

from .conftest import ContainerFactory, LinuxServer, container_id, init_pid, output, run


def test_rlimits_from_request_and_defaults(client: Client, container: str) -> None:
    limits = ResourceLimits(nofile=123, **{"as": 512 * 1024 * 1024})
    result = run(client, container, "ulimit -n; ulimit -v; ulimit -c; ulimit -u", rlimits=limits)
    # nofile and as from the request; core and nproc the original's defaults.
    assert result.stdout == b"123\n524288\n0\n1024\n"
    # Per request only: the next job has the default again.
    assert output(client, container, "ulimit -n") == "1024\n"


def test_jobs_run_in_the_containers_cgroups(
    server: LinuxServer, client: Client, container: str
) -> None:
    lines = output(client, container, "cat /proc/self/cgroup").splitlines()
    instance = f"/{server.cgroup_parent}/instance-{container_id(client, container)}"
    joined = {line.split(":")[1] for line in lines if line.endswith(instance)}
    if server.cgroup_layout.version == 2:
        assert joined == {""}  # the unified hierarchy's one line, "0::<path>"
        return
    for controller in ("cpu", "cpuacct", "memory", "devices", "pids", "freezer"):
        assert any(controller in names.split(",") for names in joined), controller


def _pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise AssertionError(f"no Pss for {pid}")


def test_an_idle_container_is_its_init_only(
    server: LinuxServer, client: Client, make_container: ContainerFactory
) -> None:
    handles = [make_container() for _ in range(3)]
    total = 0
    for handle in handles:
        output(client, handle, "true")  # a job came and went
        pid = init_pid(server, client, handle)
        procs = server.cgroup_dir("freezer", container_id(client, handle)) / "cgroup.procs"
        assert procs.read_text().split() == [str(pid)]
        # Nothing on the host waits for it either: its parent is the host's init
        # (no unshare, nsenter or shell left behind).
        parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        assert parent != server.pid
        assert Path(f"/proc/{parent}/comm").read_text().strip() not in (
            "unshare", "nsenter", "bash", "setsid"
        )  # fmt: skip
        total += _pss_kib(pid)
    assert total / len(handles) <= 1024, f"{total / len(handles)} KiB per idle container"
