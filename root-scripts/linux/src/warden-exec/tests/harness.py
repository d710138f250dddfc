"""What warden-exec's tests and benchmark need: the helper built from these
sources, a static probe program, a tiny container root, and a target: a
process that is PID 1 of its own mount, UTS, IPC, network and PID namespaces
(inside a private network namespace, per the project's network rule), pivoted
into that root. Everything made here is removed by the context managers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCE_DIR = Path(__file__).resolve().parent.parent
PROBE_SOURCE = Path(__file__).resolve().parent / "probe.c"
VCAP_UID = 10001
LOCKED_OUT_UID = 10002  # home /root, which it may not enter
NO_HOME_UID = 10003  # home does not exist
HOSTNAME = "wexec-target"
NAME_PREFIX = "wexec-test"

PASSWD = f"""\
root:x:0:0:root:/root:/bin/bash
vcap:x:{VCAP_UID}:{VCAP_UID}:warden user:/home/vcap:/bin/bash
lockedout:x:{LOCKED_OUT_UID}:{LOCKED_OUT_UID}::/root:/bin/bash
nohome:x:{NO_HOME_UID}:{NO_HOME_UID}::/nonexistent:/bin/bash
"""


def unique_name() -> str:
    """A name no other test run on this machine uses at the same time."""
    return f"{NAME_PREFIX}-{secrets.token_hex(4)}"


def call(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, text: bool = True, **kwargs: Any
) -> subprocess.CompletedProcess[Any]:
    """Run argv to its end with an empty environment (unless given) and its
    output captured; judging its status is the caller's business."""
    return subprocess.run(
        list(argv),
        env=dict(env or {}),
        check=False,
        capture_output=True,
        text=text,
        timeout=30,
        **kwargs,
    )


def build_helper(out: Path) -> Path:
    """Build warden-exec from this tree's sources into `out` (its Makefile)."""
    subprocess.run(["make", "-s", "-C", str(SOURCE_DIR), f"OUT={out}"], check=True)
    return out


def build_probe(out: Path) -> Path:
    """Build the static probe program into `out`."""
    subprocess.run(
        [
            "cc",
            "-static",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-o",
            str(out),
            str(PROBE_SOURCE),
            "-lpthread",
        ],
        check=True,
    )
    return out


def _libraries(binary: str) -> list[str]:
    """The shared libraries (and loader) `binary` needs, as absolute paths."""
    output = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    return [word for line in output.splitlines() for word in line.split() if word.startswith("/")]


def make_template(root: Path, probe: Path) -> None:
    """A tiny root: bash and tar with their libraries, the probe, users, /proc."""
    for directory in (
        "usr/bin",
        "usr/lib",
        "usr/lib64",
        "etc",
        "home/vcap",
        "root",
        "tmp",
        "proc",
        "dev",
        ".oldroot",
    ):
        (root / directory).mkdir(parents=True, exist_ok=True)
    for link in ("bin", "sbin"):
        (root / link).symlink_to("usr/bin")
    (root / "lib").symlink_to("usr/lib")
    (root / "lib64").symlink_to("usr/lib64")
    for tool in ("bash", "tar"):
        binary = shutil.which(tool)
        assert binary is not None, f"{tool} is needed on the host"
        shutil.copy(binary, root / "usr/bin" / tool)
        for library in _libraries(binary):
            target = root / library.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(library, target)
    shutil.copy(probe, root / "usr/bin/probe")
    (root / "etc/passwd").write_text(PASSWD)
    (root / "etc/group").write_text(f"root:x:0:\nvcap:x:{VCAP_UID}:\n")
    (root / "MARKER").write_text("the container's root\n")
    (root / "dev/null").touch()
    os.chown(root / "home/vcap", VCAP_UID, VCAP_UID)
    (root / "root").chmod(0o700)
    (root / "tmp").chmod(0o1777)


def copy_root(template: Path, root: Path) -> Path:
    """A root of one's own (files hard-linked from the template)."""
    shutil.copytree(template, root, symlinks=True, copy_function=os.link)
    for directory, _, _ in os.walk(template):  # copytree keeps modes, not owners
        owner = os.stat(directory)
        os.chown(root / Path(directory).relative_to(template), owner.st_uid, owner.st_gid)
    (root / "etc/passwd").unlink()
    shutil.copy(template / "etc/passwd", root / "etc/passwd")
    return root


@contextlib.contextmanager
def private_netns() -> Iterator[str]:
    """A network namespace of our own (removed after)."""
    name = unique_name()
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


# Run by unshare's child, which is PID 1 of the new PID namespace: a private
# bind of the root (pivot_root needs a mount point), /dev/null, the hostname,
# then the probe takes over as init and pivots.
_INIT_SCRIPT = """
set -e
mount --bind "$1" "$1"
mount --bind /dev/null "$1/dev/null"
hostname "$2"
exec "$1/usr/bin/probe" init "$1"
"""


@dataclass
class Target:
    """A running target: `pid` is its init's pid as the host sees it."""

    pid: int
    root: Path
    netns: str


# A target's user namespace (when it has one) maps its ids 0..65535 here.
USERNS_BASE = 100000


@contextlib.contextmanager
def running_target(root: Path, user_ns: bool = False) -> Iterator[Target]:
    """Start a target in `root` (in a user namespace of its own, made by
    the probe, when `user_ns`); kill it (and its PID namespace) after.
    Every directory above a user namespace's root must be searchable by
    others: the host's root is not root in there."""
    with private_netns() as netns:
        unshare = subprocess.Popen(
            [
                "nsenter",
                f"--net=/run/netns/{netns}",
                *([str(root / "usr/bin/probe"), "userns"] if user_ns else []),
                "unshare",
                "--mount",
                "--uts",
                "--ipc",
                "--net",
                "--pid",
                "--fork",
                "--propagation",
                "private",
                "sh",
                "-c",
                _INIT_SCRIPT,
                "init",
                str(root),
                HOSTNAME,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        pid = 0
        try:
            assert unshare.stdin is not None and unshare.stdout is not None
            if user_ns:
                # nsenter execs the probe, which unshares in its own process.
                if unshare.stdout.readline() != "unshared\n":
                    raise RuntimeError("the target's user namespace did not appear")
                for kind in ("uid", "gid"):
                    Path(f"/proc/{unshare.pid}/{kind}_map").write_text(f"0 {USERNS_BASE} 65536")
                unshare.stdin.write("mapped\n")
                unshare.stdin.flush()
            ready = unshare.stdout.readline().split()
            if len(ready) != 2 or ready[0] != "ready":
                unshare.kill()
                _, err = unshare.communicate(timeout=10)
                raise RuntimeError(f"target did not start: {err.strip()}")
            pid = int(ready[1])
            yield Target(pid=pid, root=root, netns=netns)
        finally:
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            unshare.kill()
            unshare.communicate(timeout=10)


def status_fields(text: str) -> dict[str, str]:
    """/proc/PID/status as a dict of field -> value (whitespace collapsed)."""
    fields = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        fields[name] = " ".join(value.split())
    return fields


def wait_gone(pid: int, seconds: float = 10.0) -> bool:
    """True once no process `pid` exists (a zombie counts as gone)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.02)
    return False


def children_of(pid: int) -> list[int]:
    with contextlib.suppress(FileNotFoundError):
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []
