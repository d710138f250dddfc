"""Getting in: namespaces, root, home, cgroups, the target check, and what
comes back out (exit status, signals)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness import (
    HOSTNAME,
    USERNS_BASE,
    VCAP_UID,
    Target,
    call,
    children_of,
    copy_root,
    running_target,
    status_fields,
    unique_name,
    wait_gone,
)


def test_every_namespace_is_the_targets(
    run: Callable[..., subprocess.CompletedProcess[str]], target: Target
) -> None:
    result = run("probe", "ns")
    assert result.returncode == 0, result.stderr
    seen = dict(line.split() for line in result.stdout.splitlines())
    assert set(seen) >= {"cgroup", "ipc", "mnt", "net", "pid", "uts", "user"}
    for name, link in seen.items():
        assert link == os.readlink(f"/proc/{target.pid}/ns/{name}"), name
    for name in ("ipc", "mnt", "net", "pid", "uts"):
        assert seen[name] != os.readlink(f"/proc/self/ns/{name}"), f"{name} is the host's"


@pytest.fixture
def open_root(template: Path) -> Iterator[Path]:
    """A container root that others may reach (not under pytest's 0700 tmp)."""
    parent = Path("/tmp") / unique_name()
    parent.mkdir(mode=0o755)
    try:
        yield copy_root(template, parent / "root")
    finally:
        shutil.rmtree(parent)


def test_a_targets_user_namespace_is_entered_last(helper: Path, open_root: Path) -> None:
    with running_target(open_root, user_ns=True) as target:

        def job(user: str, *argv: str) -> str:
            result = call([str(helper), "--target", str(target.pid), "--user", user, "--", *argv])
            assert result.returncode == 0, result.stderr
            return str(result.stdout)

        seen = dict(line.split() for line in job("vcap", "probe", "ns").splitlines())
        assert seen["user"] == os.readlink(f"/proc/{target.pid}/ns/user")
        assert seen["user"] != os.readlink("/proc/self/ns/user")
        assert job("vcap", "probe", "cat", "/proc/self/uid_map").split() == [
            "0",
            str(USERNS_BASE),
            "65536",
        ]
        fields = status_fields(job("vcap", "probe", "cat", "/proc/self/status"))
        assert fields["Uid"] == " ".join([str(VCAP_UID)] * 4)  # as the namespace sees it
        assert (fields["CapBnd"], fields["NoNewPrivs"], fields["Seccomp"]) == ("0" * 16, "1", "2")
        assert status_fields(job("root", "probe", "cat", "/proc/self/status"))["CapEff"] == (
            "00000000800405fb"
        )  # the default set, within the namespace


def test_pid_1_is_the_targets_init_and_the_helper_is_invisible(
    run: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    init = run("probe", "cat", "/proc/1/cmdline")
    assert init.stdout.split("\0")[:2][1] == "init"
    # The job sees its container's init and itself; warden-exec's waiting
    # parent stays in the host's pid namespace.
    listing = run("/bin/bash", "-c", 'cd /proc && echo [0-9]* && echo "$$"')
    pids, own = listing.stdout.split("\n")[:2]
    assert sorted(pids.split(), key=int) == ["1", own]


def test_hostname_and_mount_view_are_the_containers(
    run: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    assert run("probe", "cat", "/proc/sys/kernel/hostname").stdout == HOSTNAME + "\n"
    assert run("probe", "cat", "/MARKER").stdout == "the container's root\n"
    # Nothing of the host's file system is reachable.
    assert run("probe", "cat", "/etc/os-release").returncode != 0
    mounts = run("probe", "cat", "/proc/self/mountinfo").stdout
    assert {line.split()[4] for line in mounts.splitlines()} == {"/", "/dev/null", "/proc"}


def test_program_defaults_to_bin_bash_reading_stdin(
    run: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    result = run(input='echo "$0 $HOSTNAME"; exit 3\n')
    assert (result.returncode, result.stdout) == (3, f"/bin/bash {HOSTNAME}\n")


@pytest.mark.parametrize(
    ("user", "cwd"),
    [
        ("vcap", "/home/vcap"),
        ("root", "/root"),
        ("lockedout", "/"),  # its home is /root: entered as the user, so refused
        ("nohome", "/"),
    ],
)
def test_cwd_is_the_users_home_or_root(
    run: Callable[..., subprocess.CompletedProcess[str]], user: str, cwd: str
) -> None:
    assert run("probe", "cwd", options=["--user", user]).stdout == cwd + "\n"


def test_joins_cgroups_v1_and_v2(
    run: Callable[..., subprocess.CompletedProcess[str]], make_cgroup: Callable[[str], Path]
) -> None:
    pids, memory, unified = make_cgroup("pids"), make_cgroup("memory"), make_cgroup("unified")
    result = run(
        "probe",
        "cat",
        "/proc/self/cgroup",
        options=["--cgroup", str(pids), "-c", str(memory), "-c", str(unified)],
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"pids:/{pids.name}" in {line.split(":", 1)[1] for line in lines}
    assert f"memory:/{memory.name}" in {line.split(":", 1)[1] for line in lines}
    assert f"0::/{unified.name}" in lines


def test_job_counts_against_its_cgroups_pids_limit(
    run: Callable[..., subprocess.CompletedProcess[str]], make_cgroup: Callable[[str], Path]
) -> None:
    pids = make_cgroup("pids")
    # warden-exec's waiting parent, the job (probe) and the child in which
    # probe makes each attempt are three: a fourth process cannot start.
    (pids / "pids.max").write_text("3")
    result = run("probe", "try", "clone_plain", options=["-c", str(pids)])
    assert result.stdout == "clone_plain EAGAIN\n"


def test_target_cgroup_is_checked(
    run: Callable[..., subprocess.CompletedProcess[str]],
    target: Target,
    make_cgroup: Callable[[str], Path],
) -> None:
    home, v2_home = make_cgroup("pids"), make_cgroup("unified")
    (home / "cgroup.procs").write_text(str(target.pid))
    (v2_home / "cgroup.procs").write_text(str(target.pid))
    try:
        for right in (f"pids:/{home.name}", f":/{v2_home.name}"):
            ok = run("probe", "true", options=["--target-cgroup", right])
            assert ok.returncode == 0, ok.stderr
        for wrong in (
            f"pids:/{home.name}-other",
            f"memory:/{home.name}",
            "pids:/",
            f":/{home.name}",
        ):
            refused = run("probe", "true", options=["--target-cgroup", wrong])
            assert refused.returncode == 255
            assert refused.stderr == (
                f"warden-exec: target-cgroup({wrong}): process "
                f"{target.pid} is not in it (is the container gone?)\n"
            )
        malformed = run("probe", "true", options=["--target-cgroup", "pids"])
        assert malformed.stderr == ("warden-exec: target-cgroup(pids): expected CONTROLLER:/PATH\n")
    finally:
        Path("/sys/fs/cgroup/pids/cgroup.procs").write_text(str(target.pid))
        Path("/sys/fs/cgroup/unified/cgroup.procs").write_text(str(target.pid))


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["probe", "exit", "0"], 0),
        (["probe", "exit", "42"], 42),
        (["probe", "raise", str(int(signal.SIGTERM))], -signal.SIGTERM),
        (["probe", "raise", str(int(signal.SIGKILL))], -signal.SIGKILL),
        (["probe", "raise", str(int(signal.SIGSEGV))], -signal.SIGSEGV),
    ],
)
def test_exit_status_is_the_programs(
    run: Callable[..., subprocess.CompletedProcess[str]], argv: list[str], status: int
) -> None:
    assert run(*argv).returncode == status


def _sleeping_job(helper: Path, target: Target, *options: str) -> subprocess.Popen[str]:
    job = subprocess.Popen(
        [
            str(helper),
            "--target",
            str(target.pid),
            "--user",
            "vcap",
            *options,
            "--",
            "probe",
            "sleep",
        ],
        env={},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert job.stdout is not None
    assert job.stdout.readline() == "sleeping\n"
    return job


def test_signal_to_the_process_group_ends_the_job_and_is_reported(
    helper: Path, target: Target
) -> None:
    job = _sleeping_job(helper, target)
    try:
        # What the server does: signal the job's process group.
        os.killpg(job.pid, signal.SIGTERM)
        # warden-exec itself was not killed: it reports the job's end.
        assert job.wait(timeout=10) == -signal.SIGTERM
    finally:
        job.kill()
        job.wait()


def test_pdeathsig_ends_the_job_when_warden_exec_dies(helper: Path, target: Target) -> None:
    job = _sleeping_job(helper, target, "--pdeathsig", str(int(signal.SIGKILL)))
    (child,) = children_of(job.pid)
    os.kill(job.pid, signal.SIGKILL)
    job.wait(timeout=10)
    assert wait_gone(child)


def test_without_pdeathsig_the_job_outlives_warden_exec(helper: Path, target: Target) -> None:
    job = _sleeping_job(helper, target)
    (child,) = children_of(job.pid)
    try:
        os.kill(job.pid, signal.SIGKILL)
        job.wait(timeout=10)
        assert not wait_gone(child, seconds=0.3)
    finally:
        os.kill(child, signal.SIGKILL)
    assert wait_gone(child)


def test_pid_file_names_warden_exec_once_the_job_is_inside(
    helper: Path, target: Target, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    job = _sleeping_job(helper, target, "--pid-file", str(pid_file))
    try:
        # Written by the time the job runs: warden-exec's own pid, whose
        # only child is already in the target's pid namespace.
        assert pid_file.read_text() == f"{job.pid}\n"
        (child,) = children_of(job.pid)
        assert os.readlink(f"/proc/{child}/ns/pid") == os.readlink(f"/proc/{target.pid}/ns/pid")
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()


def test_pid_file_is_made_on_the_host_for_a_target_with_its_own_user_namespace(
    helper: Path, open_root: Path, tmp_path: Path
) -> None:
    # A directory root may write in only by its capabilities (another user's,
    # 0755): inside the target's user namespace warden-exec has them no more
    # on the host's files, so it makes the file before entering.
    others = tmp_path / "others"
    others.mkdir(mode=0o755)
    os.chown(others, 65534, 65534)
    pid_file = others / "pid"
    with running_target(open_root, user_ns=True) as target:
        job = _sleeping_job(helper, target, "--pid-file", str(pid_file))
        try:
            assert pid_file.read_text() == f"{job.pid}\n"
            assert pid_file.stat().st_uid == 0
        finally:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()


def test_pid_file_stays_empty_or_absent_when_the_job_does_not_get_in(
    helper: Path, target: Target, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    result = call(
        [
            str(helper),
            "--target",
            str(target.pid),
            "--user",
            "nobody",
            "--pid-file",
            str(pid_file),
            "--",
            "probe",
            "true",
        ]
    )
    # The user is looked up inside, after the fork: the pid was written.
    assert result.returncode == 255 and pid_file.read_text().strip().isdigit()
    # A target that fails its check: nothing entered, nothing written.
    failing_check = [
        str(helper),
        "--target",
        str(target.pid),
        "--target-cgroup",
        "freezer:/wexec-test-none",
        "--user",
        "vcap",
        "--pid-file",
        str(pid_file),
        "--",
        "probe",
        "true",
    ]
    result = call(failing_check)
    assert (result.returncode, pid_file.read_text()) == (255, "")
    # One that was not there is made only once the job is inside.
    pid_file.unlink()
    result = call(failing_check)
    assert result.returncode == 255 and not pid_file.exists()


def test_pid_file_is_not_opened_through_a_symlink(
    helper: Path, target: Target, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    (tmp_path / "pid").symlink_to(victim)
    result = call(
        [
            str(helper),
            "--target",
            str(target.pid),
            "--user",
            "vcap",
            "--pid-file",
            str(tmp_path / "pid"),
            "--",
            "probe",
            "true",
        ]
    )
    assert result.returncode == 255
    assert result.stderr.startswith(f"warden-exec: open(--pid-file {tmp_path / 'pid'}): ")
    assert victim.read_text() == "keep\n"
