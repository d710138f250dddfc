"""The devices a container may use, and how cgroup v2 enforces that (an eBPF program).

One allow list, ``DEVICE_RULES``, serves both versions:

- cgroup v1: ``devices.deny`` gets ``a``, then ``devices.allow`` each line of
  ``V1_DEVICE_RULES`` (the container's start hook writes them);
- cgroup v2 has no devices controller. As container runtimes do, the server
  attaches a ``BPF_PROG_TYPE_CGROUP_DEVICE`` program to the container's cgroup
  before any process joins it: the kernel runs it on every open and mknod of
  a device node and refuses (EPERM) what it does not allow.

The program is assembled here, loaded once per server process through the
``bpf()`` system call (ctypes: no helper, no interpreter on the request path)
and attached to each container's cgroup; the attachment holds its own
reference, so the program goes with the cgroup.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
import threading
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "DEVICE_RULES",
    "V1_DEVICE_RULES",
    "DeviceRule",
    "attach_device_filter",
    "attached_device_programs",
    "device_program",
]


class DeviceRule(NamedTuple):
    """A character device the container may read, write and mknod (minor None: any)."""

    major: int
    minor: int | None


#: null, zero, full, random, urandom, tty, ptmx, the pseudo-terminals, fuse.
DEVICE_RULES = (
    DeviceRule(1, 3),
    DeviceRule(1, 5),
    DeviceRule(1, 7),
    DeviceRule(1, 8),
    DeviceRule(1, 9),
    DeviceRule(5, 0),
    DeviceRule(5, 2),
    DeviceRule(136, None),
    DeviceRule(10, 229),
)

#: The same list as cgroup v1 ``devices.allow`` lines.
V1_DEVICE_RULES = tuple(
    f"c {r.major}:{'*' if r.minor is None else r.minor} rwm" for r in DEVICE_RULES
)

# -- the program --

# Instruction classes and operations (linux/bpf_common.h, linux/bpf.h).
_LDX_MEM_W = 0x61  # dst = *(u32 *)(src + off)
_ALU64_AND_K = 0x57  # dst &= imm
_ALU64_MOV_K = 0xB7  # dst = imm
_JMP_JNE_K = 0x55  # if dst != imm: pc += off
_JMP_EXIT = 0x95

_DEVCG_DEV_CHAR = 2  # bpf_cgroup_dev_ctx.access_type's low 16 bits


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, dst | (src << 4), off, imm)


def device_program(rules: tuple[DeviceRule, ...] = DEVICE_RULES) -> bytes:
    """The instructions of a program that allows ``rules`` (any access) and nothing else.

    Its context is ``struct bpf_cgroup_dev_ctx`` (r1): ``access_type`` (type in
    the low 16 bits, access in the high ones), ``major``, ``minor``. It returns
    1 to allow, 0 to refuse.
    """
    code = [
        _insn(_LDX_MEM_W, dst=2, src=1, off=0),
        _insn(_ALU64_AND_K, dst=2, imm=0xFFFF),
        _insn(_LDX_MEM_W, dst=3, src=1, off=4),
        _insn(_LDX_MEM_W, dst=4, src=1, off=8),
    ]
    for rule in rules:
        checks = [(2, _DEVCG_DEV_CHAR), (3, rule.major)]
        if rule.minor is not None:
            checks.append((4, rule.minor))
        for index, (register, value) in enumerate(checks):
            # A mismatch jumps past the rest of this rule's checks and its "allow".
            code.append(_insn(_JMP_JNE_K, dst=register, off=len(checks) - index + 1, imm=value))
        code += [_insn(_ALU64_MOV_K, dst=0, imm=1), _insn(_JMP_EXIT)]
    code += [_insn(_ALU64_MOV_K, dst=0, imm=0), _insn(_JMP_EXIT)]
    return b"".join(code)


# -- the bpf() system call --

_SYSCALL_BPF = {"x86_64": 321, "aarch64": 280, "ppc64le": 361, "s390x": 351}
_BPF_PROG_LOAD = 5
_BPF_PROG_ATTACH = 8
_BPF_PROG_QUERY = 16
_BPF_PROG_TYPE_CGROUP_DEVICE = 15
_BPF_CGROUP_DEVICE = 6
# Programs of enclosing cgroups (a systemd unit's device policy) keep applying too.
_BPF_F_ALLOW_MULTI = 2


class _ProgLoad(ctypes.Structure):
    _fields_ = [
        ("prog_type", ctypes.c_uint32),
        ("insn_cnt", ctypes.c_uint32),
        ("insns", ctypes.c_uint64),
        ("license", ctypes.c_uint64),
        ("log_level", ctypes.c_uint32),
        ("log_size", ctypes.c_uint32),
        ("log_buf", ctypes.c_uint64),
        ("kern_version", ctypes.c_uint32),
        ("prog_flags", ctypes.c_uint32),
        ("prog_name", ctypes.c_char * 16),
    ]


class _ProgAttach(ctypes.Structure):
    _fields_ = [
        ("target_fd", ctypes.c_uint32),
        ("attach_bpf_fd", ctypes.c_uint32),
        ("attach_type", ctypes.c_uint32),
        ("attach_flags", ctypes.c_uint32),
    ]


class _ProgQuery(ctypes.Structure):
    _fields_ = [
        ("target_fd", ctypes.c_uint32),
        ("attach_type", ctypes.c_uint32),
        ("query_flags", ctypes.c_uint32),
        ("attach_flags", ctypes.c_uint32),
        ("prog_ids", ctypes.c_uint64),
        ("prog_cnt", ctypes.c_uint32),
    ]


_libc = ctypes.CDLL(None, use_errno=True)


def _bpf(command: int, attr: ctypes.Structure, what: str) -> int:
    number = _SYSCALL_BPF.get(platform.machine())
    if number is None:
        raise OSError(f"{what}: bpf() is not known on {platform.machine()}")
    result = int(_libc.syscall(number, command, ctypes.byref(attr), ctypes.sizeof(attr)))
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def _load(program: bytes) -> int:
    """Load ``program``; the verifier's complaint is in the error if it refuses it."""
    insns = ctypes.create_string_buffer(program, len(program))
    license_ = ctypes.create_string_buffer(b"GPL")
    attr = _ProgLoad(
        prog_type=_BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt=len(program) // 8,
        insns=ctypes.addressof(insns),
        license=ctypes.addressof(license_),
        prog_name=b"warden_devices",
    )
    try:
        return _bpf(_BPF_PROG_LOAD, attr, "loading the device filter")
    except OSError as problem:
        if problem.errno != 22:  # EINVAL: ask the verifier why
            raise
    log = ctypes.create_string_buffer(65536)
    attr.log_level, attr.log_size, attr.log_buf = 1, len(log), ctypes.addressof(log)
    try:
        return _bpf(_BPF_PROG_LOAD, attr, "loading the device filter")
    except OSError as problem:
        tail = log.value.decode(errors="replace").strip().splitlines()[-3:]
        raise OSError(problem.errno, f"{problem.strerror} ({' / '.join(tail)})") from None


_program_fd: int | None = None
_program_lock = threading.Lock()


def _program() -> int:
    """The server's loaded program (loaded on first use, kept: one per process)."""
    global _program_fd
    with _program_lock:
        if _program_fd is None:
            _program_fd = _load(device_program())
        return _program_fd


def attach_device_filter(cgroup_dir: Path) -> None:
    """Attach the device filter to ``cgroup_dir`` (a cgroup v2 directory); raises OSError."""
    fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        attr = _ProgAttach(
            target_fd=fd,
            attach_bpf_fd=_program(),
            attach_type=_BPF_CGROUP_DEVICE,
            attach_flags=_BPF_F_ALLOW_MULTI,
        )
        _bpf(_BPF_PROG_ATTACH, attr, f"attaching the device filter to {cgroup_dir}")
    finally:
        os.close(fd)


def attached_device_programs(cgroup_dir: Path) -> int:
    """How many device programs are attached to ``cgroup_dir`` itself."""
    fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        attr = _ProgQuery(target_fd=fd, attach_type=_BPF_CGROUP_DEVICE)
        _bpf(_BPF_PROG_QUERY, attr, f"querying the device programs of {cgroup_dir}")
        return int(attr.prog_cnt)
    finally:
        os.close(fd)
