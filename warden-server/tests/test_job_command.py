"""The Linux job's command line as the server builds it (``linux/_job_command``):
the keeper's options from the wrapper environment, warden-exec's from the
container and the hardening options (tests_linux/test_jobs.py compares the
whole of it with job.sh's for live jobs)."""

from __future__ import annotations

from warden.server.linux._job_command import EnterOptions, enter_argv, job_argv, keeper_argv

BIN = "/rs/linux/bin"
VCAP = EnterOptions(
    init_pid=42, cgroup_member="freezer:/w/instance-a", cgroup_dirs=["/cg/cpu/x", "/cg/mem/x"],
    uid=10001,
)  # fmt: skip
ROOT = EnterOptions(
    init_pid=42, cgroup_member="0::/w/instance-a", cgroup_dirs=["/cg/x"], uid=0,
    caps="chown,kill", no_new_privs=False, seccomp=False,
)  # fmt: skip


def test_keeper_options_follow_the_wrapper_environment() -> None:
    base = {"JOB_DIR": "/d/jobs/1", "DISCARD_OUTPUT": "false", "OUTPUT_LIMIT": "10"}
    assert keeper_argv(BIN, base) == [f"{BIN}/warden-keeper", "--limit", "10", "/d/jobs/1"]
    discard = {**base, "DISCARD_OUTPUT": "true"}
    assert keeper_argv(BIN, discard)[1:] == ["--discard", "/d/jobs/1"]
    syslog_only = {**base, "OUTPUT_LIMIT": ""}
    assert keeper_argv(BIN, syslog_only)[1:] == ["--unbounded", "/d/jobs/1"]
    stdin = {**base, "JOB_STDIN": "true"}
    assert keeper_argv(BIN, stdin)[1:] == ["--limit", "10", "--stdin", "/d/jobs/1"]
    # A terminal wins over stdin, as in keeper.sh.
    tty = {**stdin, "JOB_TTY": "24x80"}
    assert keeper_argv(BIN, tty)[1:] == ["--limit", "10", "--tty", "24x80", "/d/jobs/1"]


def test_vcap_enters_with_no_capabilities_and_the_filter() -> None:
    assert enter_argv(BIN, VCAP) == [
        f"{BIN}/warden-exec", "--target", "42", "--target-cgroup", "freezer:/w/instance-a",
        "--cgroup=/cg/cpu/x", "--cgroup=/cg/mem/x", "--uid", "10001", "--gid", "10001",
    ]  # fmt: skip
    # The privileged options are root's only.
    loose = EnterOptions(**{**VCAP.__dict__, "caps": "all", "no_new_privs": False})
    assert enter_argv(BIN, loose) == enter_argv(BIN, VCAP)


def test_root_gets_the_configured_capabilities_and_loosenings() -> None:
    assert enter_argv(BIN, ROOT)[-6:] == [
        "--gid", "0", "--caps", "chown,kill", "--allow-new-privs", "--no-seccomp",
    ]  # fmt: skip
    strict = EnterOptions(init_pid=42, cgroup_member="m", cgroup_dirs=[], uid=0, caps="")
    assert enter_argv(BIN, strict)[-2:] == ["--caps", "default"]


def test_a_terminal_comes_from_the_containers_devpts() -> None:
    env = {"JOB_DIR": "/d/jobs/3", "OUTPUT_LIMIT": "5", "JOB_TTY": "10x20"}
    argv = job_argv(BIN, env, ROOT)
    split = argv.index("--")
    assert argv[:split] == [
        f"{BIN}/warden-keeper", "--pty-root", "/proc/42/root", "--no-ctty",
        "--limit", "5", "--tty", "10x20", "/d/jobs/3",
    ]  # fmt: skip
    assert argv[split + 1 :] == [
        *enter_argv(BIN, ROOT), "--tty", "--pid-file", "/d/jobs/3/pid", "--", "/bin/bash",
    ]  # fmt: skip


def test_a_plain_job_writes_its_pid_file_and_runs_bash() -> None:
    env = {"JOB_DIR": "/d/jobs/4", "OUTPUT_LIMIT": "5"}
    argv = job_argv(BIN, env, VCAP)
    assert "--tty" not in argv and "--pty-root" not in argv
    assert argv[-4:] == ["--pid-file", "/d/jobs/4/pid", "--", "/bin/bash"]
