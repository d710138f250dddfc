"""The seccomp filter: what it blocks, with which error, for whom; what it
leaves alone; and other syscall ABIs."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]

# Blocked for every job that does not keep the capability that unlocks them
# (the default root set keeps none of those), and always for some.
BLOCKED = [
    "mount",
    "umount2",
    "pivot_root",
    "swapon",
    "swapoff",
    "reboot",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "iopl",
    "ioperm",
    "clock_settime",
    "settimeofday",
    "adjtimex",
    "open_by_handle_at",
    "name_to_handle_at",
    "acct",
    "quotactl",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "io_uring_setup",
    "kcmp",
    "syslog",
    "fsopen",
    "open_tree",
    "setns",
    "unshare_user",
    "unshare_net",
    "clone_user",
    "personality_unsafe",
    "ioctl_setflags",
    "ioctl_fssetxattr",
]
# Never blocked: what ordinary programs do.
ALLOWED = ["getpid", "unshare_files", "clone_plain", "personality_query", "ptrace", "mknod_fifo"]
# Allowed to anyone without the filter, so these show that the filter is
# what denies them.
FILTER_ONLY = [
    "keyctl",
    "add_key",
    "adjtimex",
    "name_to_handle_at",
    "kcmp",
    "open_tree",
    "personality_unsafe",
    "clone3",
    "ioctl_setflags",
    "ioctl_fssetxattr",
]


def attempts(run: Run, names: list[str], *options: str) -> dict[str, str]:
    result = run("probe", "try", *names, options=list(options))
    assert result.returncode == 0, result.stderr
    return dict(line.split() for line in result.stdout.splitlines())


@pytest.mark.parametrize("user", ["vcap", "root"])
def test_blocked_syscalls_fail_with_eperm(run: Run, user: str) -> None:
    outcome = attempts(run, [*BLOCKED, *ALLOWED, "clone3"], "--user", user)
    assert outcome == {
        **dict.fromkeys(BLOCKED, "EPERM"),
        **dict.fromkeys(ALLOWED, "OK"),
        # ENOSYS, so that libc falls back to clone, whose flags are checked
        "clone3": "ENOSYS",
    }


def test_without_the_filter_the_same_calls_succeed(run: Run) -> None:
    outcome = attempts(run, FILTER_ONLY, "--user", "vcap", "--no-seccomp")
    assert outcome == dict.fromkeys(FILTER_ONLY, "OK")


def test_kept_capabilities_unlock_their_syscalls(run: Run) -> None:
    # Docker's rule: whoever is given CAP_SYS_ADMIN may mount, setns, unshare.
    outcome = attempts(
        run,
        [
            "mount",
            "setns",
            "unshare_net",
            "fsopen",
            "keyctl",
            "io_uring_setup",
            "personality_unsafe",
            "ioctl_fssetxattr",
        ],
        "--user",
        "root",
        "--caps",
        "all",
    )
    assert outcome == {
        "mount": "OK",
        "setns": "OK",
        "unshare_net": "OK",
        "fsopen": "OK",
        # CAP_SYS_RESOURCE: may exceed quotas, so may change projects
        "ioctl_fssetxattr": "OK",
        # blocked whatever the capabilities
        "keyctl": "EPERM",
        "io_uring_setup": "EPERM",
        "personality_unsafe": "EPERM",
    }
    assert attempts(run, ["mount"], "--user", "root", "--caps", "default,sys_admin") == {
        "mount": "OK"
    }


def test_threads_and_forks_still_work(run: Run) -> None:
    assert run("probe", "thread").stdout == "thread OK\n"
    result = run("/bin/bash", "-c", "(exit 3); echo $?; echo $(echo sub); /usr/bin/probe exit 4")
    assert (result.stdout, result.returncode) == ("3\nsub\n", 4)


@pytest.mark.parametrize("user", ["vcap", "root"])
def test_socket_families_outside_the_network_namespace_are_refused(run: Run, user: str) -> None:
    # vsock ignores the network namespace: a port bound here is the host's.
    outcome = attempts(
        run,
        ["socket_vsock", "socketpair_vsock", "socket_qipcrtr", "socket_inet", "socketpair_unix"],
        "--user",
        user,
        "--caps",
        "all",
    )
    assert outcome == {
        "socket_vsock": "EAFNOSUPPORT",
        "socketpair_vsock": "EAFNOSUPPORT",
        "socket_qipcrtr": "EAFNOSUPPORT",
        # the ordinary families are untouched
        "socket_inet": "OK",
        "socketpair_unix": "OK",
    }


@pytest.mark.skipif(not Path("/dev/vsock").exists(), reason="this kernel has no vsock transport")
def test_without_the_filter_vsock_sockets_open(run: Run) -> None:
    # the control: on this kernel vsock is there, so the filter is what refuses it
    assert attempts(run, ["socket_vsock"], "--user", "vcap", "--no-seccomp") == {
        "socket_vsock": "OK"
    }


@pytest.mark.parametrize("abi", ["x32", "i386"])
def test_other_syscall_abis_kill_the_process(run: Run, abi: str) -> None:
    assert run("probe", abi).returncode == -signal.SIGSYS
