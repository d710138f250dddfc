"""Who the job is: ids, groups, capabilities, no_new_privs, seccomp mode, and
what that denies at host level (modules, devices, clock, hostname)."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import HOSTNAME, VCAP_UID, status_fields

Run = Callable[..., subprocess.CompletedProcess[str]]

CAP_NUMBERS = {
    "chown": 0,
    "dac_override": 1,
    "dac_read_search": 2,
    "fowner": 3,
    "fsetid": 4,
    "kill": 5,
    "setgid": 6,
    "setuid": 7,
    "setpcap": 8,
    "net_bind_service": 10,
    "net_admin": 12,
    "net_raw": 13,
    "sys_module": 16,
    "sys_rawio": 17,
    "sys_chroot": 18,
    "sys_ptrace": 19,
    "sys_admin": 21,
    "sys_boot": 22,
    "sys_time": 25,
    "mknod": 27,
    "audit_write": 29,
    "setfcap": 31,
}
DEFAULT_CAPS = (
    "chown",
    "dac_override",
    "fowner",
    "fsetid",
    "kill",
    "net_bind_service",
    "setfcap",
    "setgid",
    "setpcap",
    "setuid",
    "sys_chroot",
)


def mask(*names: str) -> str:
    """A /proc/PID/status capability field for these capabilities."""
    return f"{sum(1 << CAP_NUMBERS[name] for name in names):016x}"


# "all" is all that warden-exec's caller holds (this machine's root may lack some).
ALL_CAPS = status_fields(Path("/proc/self/status").read_text())["CapBnd"]
NO_CAPS = "0" * 16


def status(run: Run, *options: str, **kwargs: object) -> dict[str, str]:
    result = run("probe", "cat", "/proc/self/status", options=list(options), **kwargs)
    assert result.returncode == 0, result.stderr
    return status_fields(result.stdout)


def caps(fields: dict[str, str]) -> dict[str, str]:
    return {name: fields[name] for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


def test_unprivileged_job_has_its_ids_no_groups_no_capabilities(run: Run) -> None:
    # Started by a caller with supplementary groups: none reach the job.
    fields = status(run, "--user", "vcap", extra_groups=[4, 24])
    assert fields["Uid"] == fields["Gid"] == " ".join([str(VCAP_UID)] * 4)
    assert fields["Groups"] == ""
    assert caps(fields) == dict.fromkeys(caps(fields), NO_CAPS)
    assert (fields["NoNewPrivs"], fields["Seccomp"], fields["Seccomp_filters"]) == ("1", "2", "1")


def test_numeric_ids_override_the_users(run: Run) -> None:
    fields = status(run, "--user", "vcap", "--gid", "4000")
    assert (fields["Uid"].split()[0], fields["Gid"]) == (str(VCAP_UID), "4000 4000 4000 4000")
    fields = status(run, "--uid", "4242")
    assert (fields["Uid"].split()[0], fields["Gid"].split()[0]) == ("4242", "4242")


def test_privileged_job_has_the_default_bounded_set(run: Run) -> None:
    fields = status(run, "--user", "root")
    assert fields["Uid"] == "0 0 0 0"
    assert fields["Groups"] == ""
    assert caps(fields) == {
        "CapInh": NO_CAPS,
        "CapPrm": mask(*DEFAULT_CAPS),
        "CapEff": mask(*DEFAULT_CAPS),
        "CapBnd": mask(*DEFAULT_CAPS),
        "CapAmb": NO_CAPS,
    }
    assert (fields["NoNewPrivs"], fields["Seccomp"]) == ("1", "2")


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("all", ALL_CAPS),
        ("none", NO_CAPS),
        ("default,net_admin", mask(*DEFAULT_CAPS, "net_admin")),
        ("CAP_CHOWN,Kill", mask("chown", "kill")),
    ],
)
def test_caps_option_sets_a_root_jobs_capabilities(run: Run, option: str, expected: str) -> None:
    fields = status(run, "--user", "root", "--caps", option)
    assert (fields["CapBnd"], fields["CapEff"], fields["CapPrm"]) == (expected,) * 3
    assert (fields["CapInh"], fields["CapAmb"]) == (NO_CAPS, NO_CAPS)


def test_caps_option_gives_nothing_to_other_users(run: Run) -> None:
    fields = status(run, "--user", "vcap", "--caps", "all")
    assert caps(fields) == dict.fromkeys(caps(fields), NO_CAPS)


def test_allow_new_privs_is_for_root_jobs_only(run: Run) -> None:
    assert status(run, "--user", "root", "--allow-new-privs")["NoNewPrivs"] == "0"
    assert status(run, "--user", "root", "--allow-new-privs")["Seccomp"] == "2"
    assert status(run, "--user", "vcap", "--allow-new-privs")["NoNewPrivs"] == "1"


def test_no_seccomp_leaves_the_filter_out(run: Run) -> None:
    fields = status(run, "--user", "vcap", "--no-seccomp")
    assert (fields["Seccomp"], fields["NoNewPrivs"]) == ("0", "1")


HOST_LEVEL = [
    "init_module",
    "finit_module",
    "delete_module",
    "mknod_block",
    "clock_settime",
    "settimeofday",
    "sethostname",
    "reboot",
    "kexec_load",
    "swapoff",
    "iopl",
]


@pytest.mark.parametrize("user", ["vcap", "root"])
@pytest.mark.parametrize("seccomp", [True, False], ids=["filter", "capabilities-only"])
def test_host_level_operations_are_denied(run: Run, user: str, seccomp: bool) -> None:
    # Denied by the filter and, without it, by the capabilities alone.
    hostname = socket.gethostname()
    options = ["--user", user] + ([] if seccomp else ["--no-seccomp"])
    result = run("probe", "try", *HOST_LEVEL, options=options)
    outcome = dict(line.split() for line in result.stdout.splitlines())
    denied = {"EPERM"} if seccomp else {"EPERM", "ENOSYS"}  # a kernel without modules: ENOSYS
    assert {name: outcome[name] in denied for name in HOST_LEVEL} == dict.fromkeys(HOST_LEVEL, True)
    assert socket.gethostname() == hostname
    assert run("probe", "cat", "/proc/sys/kernel/hostname").stdout == HOSTNAME + "\n"


def test_all_caps_root_changes_only_the_containers_hostname(run: Run) -> None:
    hostname = socket.gethostname()
    result = run("probe", "try", "sethostname", options=["--user", "root", "--caps", "all"])
    assert result.stdout == "sethostname OK\n"
    assert socket.gethostname() == hostname
    assert os.uname().nodename == hostname
