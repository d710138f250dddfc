"""What the program inherits: file descriptors, environment, rlimits; and
how a failed step is reported."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import Target, call, status_fields

CAP_SYS_RESOURCE = 24

Run = Callable[..., subprocess.CompletedProcess[str]]


def test_only_fds_0_1_2_reach_the_program(run: Run, tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    extra = os.open(tmp_path, os.O_RDONLY)  # a host directory: the classic escape
    try:
        result = run("probe", "fds", pass_fds=(read_end, write_end, extra))
    finally:
        for fd in (read_end, write_end, extra):
            os.close(fd)
    assert result.stdout == "0 1 2\n"


def test_missing_standard_fds_are_opened_on_dev_null(helper: Path, target: Target) -> None:
    # Otherwise the first file warden-exec opens would become the job's stdin.
    script = f'exec 0<&- 2>&-; exec "{helper}" --target {target.pid} --user vcap -- probe fds'
    result = call(["bash", "-c", script])
    assert result.stdout == "0 1 2\n"


def test_signal_state_and_personality_are_not_inherited(helper: Path, target: Target) -> None:
    def odd_caller_state() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM})

    # setarch -R: no address space randomisation, which children inherit.
    argv = [
        "setarch",
        os.uname().machine,
        "-R",
        str(helper),
        "--target",
        str(target.pid),
        "--user",
        "vcap",
        "--",
        "probe",
        "cat",
        "/proc/self/status",
        "/proc/self/personality",
    ]
    result = call(argv, env={"PATH": os.defpath}, preexec_fn=odd_caller_state)
    assert result.returncode == 0, result.stderr
    fields = status_fields(result.stdout)
    assert (fields["SigBlk"], fields["SigIgn"]) == ("0" * 16, "0" * 16)
    assert result.stdout.splitlines()[-1] == "00000000"


def has_capability(cap: int) -> bool:
    """Whether this test process holds capability `cap` (effective)."""
    return bool(int(status_fields(Path("/proc/self/status").read_text())["CapEff"], 16) >> cap & 1)


def lowest_oom_score_adj() -> str:
    """-1000 where we hold CAP_SYS_RESOURCE (which lowering takes), else 0."""
    return "-1000" if has_capability(CAP_SYS_RESOURCE) else "0"


@pytest.mark.parametrize("caller_adj", [lowest_oom_score_adj(), "500"])
@pytest.mark.parametrize("user", ["vcap", "root"])
def test_umask_and_oom_score_adj_are_not_inherited(run: Run, user: str, caller_adj: str) -> None:
    # A server protected from the OOM killer (-1000) must not make its jobs
    # unkillable, nor one made easier to kill make its jobs so; a caller's
    # strict umask is not the job's either.
    def odd_caller_state() -> None:
        os.umask(0o077)
        Path("/proc/self/oom_score_adj").write_text(caller_adj)

    result = run(
        "probe",
        "cat",
        "/proc/self/status",
        "/proc/self/oom_score_adj",
        options=["--user", user],
        preexec_fn=odd_caller_state,
    )
    assert result.returncode == 0, result.stderr
    assert status_fields(result.stdout)["Umask"] == "0022"
    assert result.stdout.splitlines()[-1] == "0"


def environment(run: Run, *options: str, env: dict[str, str] | None = None) -> dict[str, str]:
    result = run("probe", "env", options=list(options), env=env)
    assert result.returncode == 0, result.stderr
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


def test_environment_is_exactly_what_wshd_gave(run: Run) -> None:
    caller = {"LANG": "de_DE.UTF-8", "SECRET": "host", "PATH": "/host/bin", "RLIMIT_CORE": "0"}
    assert environment(run, "--user", "vcap", env=caller) == {
        "HOME": "/home/vcap",
        "USER": "vcap",
        "PATH": "/bin:/usr/bin",
        "LANG": "de_DE.UTF-8",
    }
    assert environment(run, "--user", "root", env=caller) == {
        "HOME": "/root",
        "USER": "root",
        "PATH": "/sbin:/bin:/usr/sbin:/usr/bin",
        "LANG": "de_DE.UTF-8",
    }


def test_no_lang_when_the_caller_has_none(run: Run) -> None:
    assert "LANG" not in environment(run, env={"LC_ALL": "C"})


def test_env_options_add_and_replace(run: Run) -> None:
    env = environment(run, "--env", "A=1", "-e", "B=x=y", "--env", "HOME=/tmp", "--env", "A=2")
    assert env == {"HOME": "/tmp", "USER": "vcap", "PATH": "/bin:/usr/bin", "A": "2", "B": "x=y"}


def test_unknown_uid_gets_a_numeric_user_at_home_in_root(run: Run) -> None:
    env = environment(run, "--uid", "4242")
    assert (env["USER"], env["HOME"]) == ("4242", "/")


def rlimits(
    run: Run, *options: str, env: dict[str, str] | None = None, **kwargs: object
) -> dict[str, tuple[int, int]]:
    result = run("probe", "rlimits", options=list(options), env=env, **kwargs)
    assert result.returncode == 0, result.stderr
    return {
        name: (int(soft), int(hard))
        for name, soft, hard in (line.split() for line in result.stdout.splitlines())
    }


UNLIMITED = (-1, -1)
WSH_DEFAULTS = {
    "AS": UNLIMITED,
    "CORE": (0, 0),
    "CPU": UNLIMITED,
    "DATA": UNLIMITED,
    "FSIZE": UNLIMITED,
    "LOCKS": UNLIMITED,
    "MEMLOCK": (65536, 65536),
    "MSGQUEUE": (819200, 819200),
    "NICE": (0, 0),
    "NOFILE": (1024, 1024),
    "NPROC": (1024, 1024),
    "RSS": UNLIMITED,
    "RTPRIO": (0, 0),
    "SIGPENDING": (1024, 1024),
    "STACK": (8 << 20, 8 << 20),
}


def test_unset_rlimits_get_wshs_defaults(run: Run) -> None:
    limits = rlimits(run)
    assert {name: limits[name] for name in WSH_DEFAULTS} == WSH_DEFAULTS


def test_rlimits_from_env_then_options(run: Run) -> None:
    env = {
        "RLIMIT_NOFILE": "100 200",
        "RLIMIT_CPU": "5",
        "RLIMIT_AS": "unlimited",
        "RLIMIT_CORE": "1000 2000",
    }
    limits = rlimits(run, "--rlimit", "core=10:20", "-r", "RLIMIT_FSIZE=4096 8192", env=env)
    assert limits["NOFILE"] == (100, 200)
    assert limits["CPU"] == (5, 5)
    assert limits["AS"] == UNLIMITED
    assert limits["CORE"] == (10, 20)  # the option wins over the environment
    assert limits["FSIZE"] == (4096, 8192)


def test_rlimits_may_raise_the_callers_hard_limits(run: Run) -> None:
    def lower_own_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    env = {"RLIMIT_NOFILE": "2048 4096"}
    if has_capability(CAP_SYS_RESOURCE):
        assert rlimits(run, env=env, preexec_fn=lower_own_limit)["NOFILE"] == (2048, 4096)
    else:  # a caller without CAP_SYS_RESOURCE: warden-exec cannot either, and says so
        result = run("probe", "rlimits", env=env, preexec_fn=lower_own_limit)
        assert (result.returncode, result.stderr) == (
            255,
            "warden-exec: setrlimit(NOFILE): Operation not permitted\n",
        )


@pytest.mark.parametrize(
    ("options", "env", "message"),
    [
        (["--user", "nobody"], {}, "user(nobody): no such user in the container's /etc/passwd"),
        (
            ["--user", "vcap"],
            {"RLIMIT_NOFILE": "many"},
            "rlimit(RLIMIT_NOFILE): not a limit (a number or 'unlimited'): 'many'",
        ),
        (["--user", "vcap", "--rlimit", "nofile=10:5"], {}, "setrlimit(NOFILE): Invalid argument"),
        (["--user", "vcap", "--rlimit", "files=10"], {}, "rlimit(files=10): unknown resource"),
        (
            ["--user", "vcap", "--cgroup", "/sys/fs/cgroup/pids/wexec-test-none"],
            {},
            "cgroup(/sys/fs/cgroup/pids/wexec-test-none): not a cgroup directory "
            "(no tasks, no cgroup.procs)",
        ),
        (
            ["--user", "vcap", "--caps", "sys_everything"],
            {},
            "caps: unknown capability 'sys_everything'",
        ),
        (
            ["--user", "vcap", "--env", "NOEQUALS"],
            {},
            "usage: --env takes NAME=VALUE, got 'NOEQUALS'",
        ),
        (
            ["--user", "vcap", "--frobnicate"],
            {},
            "usage: unknown option or missing value: '--frobnicate' (see --help)",
        ),
        ([], {}, "usage: --user NAME or --uid UID is required (see --help)"),
    ],
)
def test_failed_steps_are_named_and_exit_255(
    helper: Path, target: Target, options: list[str], env: dict[str, str], message: str
) -> None:
    result = call([str(helper), "--target", str(target.pid), *options, "--", "probe"], env=env)
    assert (result.returncode, result.stderr) == (255, f"warden-exec: {message}\n")


def test_missing_program_is_reported(run: Run) -> None:
    result = run("no-such-program")
    assert (result.returncode, result.stderr) == (
        255,
        "warden-exec: execvp(no-such-program): No such file or directory\n",
    )


def test_missing_target_is_reported(helper: Path) -> None:
    result = call([str(helper), "--target", "999999999", "--user", "vcap"])
    assert (result.returncode, result.stderr) == (
        255,
        "warden-exec: open(/proc/999999999): No such file or directory\n",
    )


def test_help_documents_every_option(helper: Path) -> None:
    result = call([str(helper), "--help"])
    assert result.returncode == 0
    for option in (
        "--target",
        "--target-cgroup",
        "--cgroup",
        "--user",
        "--uid",
        "--gid",
        "--env",
        "--rlimit",
        "--caps",
        "--allow-new-privs",
        "--no-seccomp",
        "--pdeathsig",
        "--help",
    ):
        assert option in result.stdout


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_a_hostile_passwd_file_is_refused_not_read(
    helper: Path, root: Path, target: Target, kind: str
) -> None:
    passwd = root / "etc/passwd"
    passwd.unlink()
    if kind == "fifo":
        os.mkfifo(passwd)  # opening it for reading would block forever
    elif kind == "device":
        passwd.symlink_to("/dev/null")
    else:
        passwd.mkdir()
    result = call([str(helper), "--target", str(target.pid), "--user", "vcap"])
    assert (result.returncode, result.stderr) == (
        255,
        "warden-exec: user: the container's /etc/passwd is not a regular file of sane size\n",
    )


def test_no_passwd_file(helper: Path, root: Path, target: Target) -> None:
    (root / "etc/passwd").unlink()
    named = call([str(helper), "--target", str(target.pid), "--user", "vcap"])
    assert named.returncode == 255
    assert named.stderr.startswith("warden-exec: user(vcap): open /etc/passwd in the container: ")
    numeric = call(
        [str(helper), "--target", str(target.pid), "--uid", "4242", "--", "probe", "env"]
    )
    assert numeric.stdout == "HOME=/\nUSER=4242\nPATH=/bin:/usr/bin\n"
