"""Jobs in real containers: limits, output, cgroups, and what an idle container costs."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

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


def _keeper_argv(job_dir: Path) -> list[str]:
    """The command line of the keeper of the job in ``job_dir`` (a live job)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")[:-1]
        except OSError:
            continue
        words = [word.decode() for word in argv]
        if words and words[0].endswith("/warden-keeper") and str(job_dir) in words:
            return words
    raise AssertionError(f"no keeper for {job_dir}")


def _job_sh_argv(job_sh: Path, container_path: str, job_dir: Path, user: str,
                 env: dict[str, str]) -> list[str]:  # fmt: skip
    """What job.sh would exec for the same job (JOB_PRINT_ARGV)."""
    printed = subprocess.run(
        [str(job_sh), container_path, user],
        env={
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "JOB_DIR": str(job_dir),
            "JOB_PRINT_ARGV": "true",
            **env,
        },
        capture_output=True,
        check=True,
    ).stdout
    # keeper.sh names the keeper through ../common/..: the same file.
    return [
        os.path.normpath(w) if w.startswith("/") else w for w in printed.decode().split("\0")[:-1]
    ]


@pytest.mark.parametrize(
    ("privileged", "tty"), [(False, None), (True, (24, 80))], ids=["vcap", "root-tty"]
)
def test_the_server_starts_the_command_job_sh_would_exec(
    server: LinuxServer, client: Client, container: str, privileged: bool,
    tty: tuple[int, int] | None,
) -> None:  # fmt: skip
    """The server starts the keeper itself; job.sh, the manual equivalent, builds the same argv."""
    job_id = client.spawn(container, "sleep 600", privileged=privileged, tty=tty).job_id
    job_dir = Path(client.info(container).container_path, "jobs", str(job_id))
    try:
        keeper = _keeper_argv(job_dir)
        settings = server.config["server"]
        env = {
            "DISCARD_OUTPUT": "false",
            "OUTPUT_LIMIT": str(settings.get("job_output_limit", 10 * 1024 * 1024)),
            "PRIVILEGED_CAPS": ",".join(settings.get("privileged_capabilities", ["default"])),
            "PRIVILEGED_NO_NEW_PRIVS": "true" if settings.get("privileged_no_new_privs", True)
            else "false",
            "SECCOMP": "true" if settings.get("seccomp", True) else "false",
        }  # fmt: skip
        if tty is not None:
            env["JOB_TTY"] = f"{tty[0]}x{tty[1]}"
        job_sh = Path(keeper[0]).parents[1] / "job.sh"
        user = "root" if privileged else "vcap"
        assert keeper == _job_sh_argv(job_sh, client.info(container).container_path, job_dir,
                                      user, env)  # fmt: skip
    finally:
        os.killpg(int((job_dir / "pid").read_text()), signal.SIGKILL)
        client.link(container, job_id)
