"""The kernel and the host's global state: modules, device nodes, the clock,
the hostname; and what every job starts with (capabilities, no_new_privs,
seccomp, file descriptors), as vcap and as root."""

from __future__ import annotations

import socket

from warden.client import Client

from .conftest import Attempt, container_info

#: Capabilities a privileged job keeps by default (warden-exec's "default").
DEFAULT_CAPS = 0x800405FB


def _status(inside: Attempt) -> dict[str, str]:
    text = inside.shell("cat /proc/self/status")
    return {k: v.strip() for k, _, v in (line.partition(":") for line in text.splitlines())}


def test_jobs_start_bounded(inside: Attempt) -> None:
    status = _status(inside)
    caps = 0 if inside.user == "vcap" else DEFAULT_CAPS
    for field in ("CapPrm", "CapEff", "CapBnd"):
        assert int(status[field], 16) == caps, field
    assert int(status["CapInh"], 16) == 0 and int(status["CapAmb"], 16) == 0
    assert (status["NoNewPrivs"], status["Seccomp"]) == ("1", "2")
    # The job's shell has its three standard fds and nothing of the host.
    fds = inside.shell("cd /proc/self/fd && echo *").split()
    assert fds == ["0", "1", "2", "3"]  # 3: the directory echo's glob reads


def test_setuid_programs_give_vcap_nothing(client: Client, shared: str) -> None:
    # A set-user-ID-root copy of id, made by a privileged job: under
    # no_new_privs the bit is inert, so vcap stays vcap.
    Attempt(client, shared, "root").shell(
        "cp /bin/id /usr/local/bin/setuid-id && chmod 4755 /usr/local/bin/setuid-id"
    )
    vcap = Attempt(client, shared, "vcap")
    assert vcap.shell("stat -c %a /usr/local/bin/setuid-id") == "4755\n"
    assert vcap.shell("/usr/local/bin/setuid-id -u") == vcap.shell("id -u")
    assert "euid=" not in vcap.shell("/usr/local/bin/setuid-id")


def test_kernel_modules_cannot_be_loaded_or_removed(inside: Attempt) -> None:
    assert inside.probe("module") == dict.fromkeys(
        ["init_module", "finit_module", "delete_module"], "EPERM"
    )


def test_block_and_memory_devices_cannot_be_made(inside: Attempt) -> None:
    assert inside.probe("mknod", "/tmp") == {
        "mknod-block": "EPERM",
        "mknod-loop": "EPERM",
        "mknod-mem": "EPERM",
        "mknod-kmsg": "EPERM",
        "mknod-fifo": "OK",
    }  # a FIFO needs no privilege (control)
    assert inside.shell("ls /dev | tr '\\n' ' '") == (
        "fd full fuse null ptmx pts random shm stderr stdin stdout tty urandom zero "
    )


def test_the_clock_cannot_be_set(inside: Attempt) -> None:
    # Each call "sets" the current time: harmless had it succeeded.
    assert inside.probe("clock") == dict.fromkeys(
        ["clock_settime", "settimeofday", "clock_adjtime"], "EPERM"
    )


def test_the_hostname_cannot_be_changed(inside: Attempt, client: Client, shared: str) -> None:
    host = socket.gethostname()
    assert inside.probe("hostname") == dict.fromkeys(["sethostname", "setdomainname"], "EPERM")
    assert (
        inside.shell("hostname escaped 2>&1; hostname").splitlines()[-1]
        == (container_info(client, shared)[0])
    )
    assert socket.gethostname() == host
