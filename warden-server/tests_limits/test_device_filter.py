"""The cgroup v2 device filter: its program's decisions (interpreted here), and the
real kernel refusing what it does not allow to a process in a cgroup it is attached to.

The kernel part needs a cgroup2 hierarchy: the root of a v2 host, or the
controller-less ``unified`` mount of a hybrid one (device programs work there too).
"""

from __future__ import annotations

import os
import secrets
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from warden.server.linux.cgroups import DEVICE_RULES, attach_device_filter, attached_device_programs
from warden.server.linux.cgroups._devices import device_program
from warden.server.linux.cgroups._layout import parse_mountinfo

CHAR, BLOCK = 2, 1
READ, WRITE, MKNOD = 1, 2, 4


def run_program(program: bytes, kind: int, access: int, major: int, minor: int) -> int:
    """Interpret the few instructions the filter uses, on a bpf_cgroup_dev_ctx."""
    context = struct.pack("<III", (access << 16) | kind, major, minor)
    regs = [0] * 11
    pc = 0
    insns = [struct.unpack("<BBhi", program[i : i + 8]) for i in range(0, len(program), 8)]
    for _step in range(len(insns)):  # no loops: each instruction at most once
        code, registers, off, imm = insns[pc]
        dst, src = registers & 0xF, registers >> 4
        pc += 1
        if code == 0x61:  # ldx w
            assert src == 1, "the filter only reads its context"
            regs[dst] = struct.unpack_from("<I", context, off)[0]
        elif code == 0x57:
            regs[dst] &= imm
        elif code == 0xB7:
            regs[dst] = imm
        elif code == 0x55:
            if regs[dst] != imm:
                pc += off
        elif code == 0x95:
            return regs[0]
        else:
            raise AssertionError(f"unexpected instruction {code:#x}")
    raise AssertionError("the program ran off its end")


@pytest.mark.parametrize("rule", DEVICE_RULES)
@pytest.mark.parametrize("access", [READ, WRITE, MKNOD, READ | WRITE | MKNOD])
def test_each_allowed_character_device_is_allowed(rule: object, access: int) -> None:
    major, minor = rule  # type: ignore[misc]
    program = device_program()
    assert run_program(program, CHAR, access, major, 7 if minor is None else minor) == 1


@pytest.mark.parametrize(
    ("kind", "major", "minor"),
    [
        (CHAR, 1, 1),  # /dev/mem
        (CHAR, 1, 2),  # /dev/kmem
        (CHAR, 5, 1),  # /dev/console
        (CHAR, 4, 0),  # a virtual console
        (CHAR, 10, 200),  # /dev/net/tun
        (CHAR, 10, 228),  # next to fuse
        (BLOCK, 8, 0),  # /dev/sda
        (BLOCK, 7, 0),  # /dev/loop0
        (BLOCK, 1, 3),  # a block device with null's numbers
        (BLOCK, 136, 0),  # ... and with a pseudo-terminal's
    ],
)
def test_everything_else_is_refused(kind: int, major: int, minor: int) -> None:
    assert run_program(device_program(), kind, READ | WRITE, major, minor) == 0


def cgroup2_mount() -> Path:
    _v1, v2 = parse_mountinfo(Path("/proc/self/mountinfo").read_text())
    if not v2:
        pytest.fail("no cgroup2 hierarchy is mounted: the kernel cannot be asked")
    return v2[0]


@pytest.fixture
def filtered_cgroup() -> Iterator[Path]:
    """A new cgroup (made, filter attached, removed here)."""
    directory = cgroup2_mount() / f"warden-devtest-{secrets.token_hex(4)}"
    directory.mkdir()
    try:
        yield directory
    finally:
        directory.rmdir()


@pytest.fixture
def nodes(tmp_path: Path) -> Path:
    """Device nodes of every kind the test opens, in a place that allows devices."""
    for name, kind, major, minor in [
        ("null", 0o020000, 1, 3),
        ("zero", 0o020000, 1, 5),
        ("urandom", 0o020000, 1, 9),
        ("tty", 0o020000, 5, 0),
        ("mem", 0o020000, 1, 1),
        ("console", 0o020000, 5, 1),
        ("sda", 0o060000, 8, 0),
        ("loop0", 0o060000, 7, 0),
    ]:
        os.mknod(tmp_path / name, kind | 0o600, os.makedev(major, minor))
    return tmp_path


def open_in_cgroup(cgroup: Path, paths: list[Path]) -> dict[str, str]:
    """Open each path from a shell that first joins ``cgroup``: name -> ok or the error."""
    script = (
        'echo $$ > "$1/cgroup.procs" || exit 99; shift\n'
        'for f; do if msg=$( { exec 3<"$f"; } 2>&1 ); then echo "${f##*/} ok"; '
        'else echo "${f##*/} ${msg##*: }"; fi; done'
    )
    done = subprocess.run(
        ["bash", "-c", script, "opener", str(cgroup), *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split(" ", 1) for line in done.stdout.splitlines())


def test_the_kernel_refuses_what_the_filter_does_not_allow(
    filtered_cgroup: Path, nodes: Path
) -> None:
    names = ["null", "zero", "urandom", "mem", "console", "sda", "loop0"]
    before = open_in_cgroup(filtered_cgroup, [nodes / n for n in ("sda", "null")])
    assert before["null"] == "ok"
    assert before["sda"] != "Operation not permitted"  # no filter yet
    attach_device_filter(filtered_cgroup)
    assert attached_device_programs(filtered_cgroup) == 1
    result = open_in_cgroup(filtered_cgroup, [nodes / n for n in names])
    assert result == {
        "null": "ok",
        "zero": "ok",
        "urandom": "ok",
        "mem": "Operation not permitted",
        "console": "Operation not permitted",
        "sda": "Operation not permitted",
        "loop0": "Operation not permitted",
    }


def test_the_program_is_loaded_once_and_attached_per_cgroup(filtered_cgroup: Path) -> None:
    sibling = filtered_cgroup.with_name(filtered_cgroup.name + "-b")
    sibling.mkdir()
    try:
        attach_device_filter(filtered_cgroup)
        attach_device_filter(sibling)
        assert attached_device_programs(filtered_cgroup) == 1
        assert attached_device_programs(sibling) == 1
    finally:
        sibling.rmdir()
