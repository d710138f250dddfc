"""Host files: reading or writing anything outside the container's bind
mounts, through /proc, symlinks, "..", chroot, mounts, file handles, and the
kernel's files in /proc and /sys. Each attempt runs as vcap and as root."""

from __future__ import annotations

from pathlib import Path

from warden.client import Client

from .conftest import Attempt, HostSecret, container_info

#: runc's maskedPaths and readonlyPaths (root-scripts/linux/README.md, "Hardening").
MASKED_FILES = ("kcore", "keys", "latency_stats", "timer_list", "timer_stats", "sched_debug")
MASKED_DIRS = ("acpi", "asound", "scsi")
READONLY_PROC = ("bus", "fs", "irq", "sys", "sysrq-trigger")


def test_host_paths_are_not_there(inside: Attempt, host_secret: HostSecret,
                                  client: Client, shared: str) -> None:  # fmt: skip
    assert inside.read(str(host_secret.file)) == "ENOENT\n"
    assert inside.probe("open", str(host_secret.directory), "dir") == {
        str(host_secret.directory): "ENOENT"
    }
    # The same name resolves in the container's own tree (control).
    assert inside.read("/etc/hostname") == container_info(client, shared)[0] + "\n"


def test_proc_1_root_is_closed_and_self_root_is_the_containers(
    inside: Attempt, host_secret: HostSecret, client: Client, shared: str
) -> None:
    # The init's root: not even the container's own root is reachable through
    # it (vcap: another user's process; root: fewer capabilities than the init).
    assert inside.probe("open", "/proc/1/root", "dir") == {"/proc/1/root": "EACCES"}
    assert inside.read(f"/proc/1/root{host_secret.file}") == "EACCES\n"
    assert inside.read("/proc/1/cwd/etc/hostname") == "EACCES\n"
    # One's own root link leads to the container's own root.
    assert inside.read("/proc/self/root/etc/hostname") == container_info(client, shared)[0] + "\n"
    assert inside.read(f"/proc/self/root{host_secret.file}") == "ENOENT\n"


def test_no_process_leads_to_host_files(inside: Attempt, host_secret: HostSecret) -> None:
    # A host process sits in the secret's directory: try every process the
    # container can see, through its cwd, root and fds.
    # (The secret's text is put together at run time: the job's own script,
    # its stdin, is among the files read.)
    relative = host_secret.file.name
    text = host_secret.text.strip().split()
    found = inside.shell(
        f"secret=$(printf '%s %s %s' {' '.join(text)}); for p in /proc/[0-9]*; do"
        f" for f in $p/cwd/{relative} $p/root{host_secret.file} $p/fd/*; do"
        '  [ -r "$f" ] && [ -f "$f" ] && grep -l -x -F "$secret" "$f" 2>/dev/null;'
        " done; done; echo scanned")  # fmt: skip
    assert found == "scanned\n"
    pid = host_secret.process.pid
    assert inside.probe("open", f"/proc/{pid}/cwd", "dir")[f"/proc/{pid}/cwd"] in {
        "ENOENT",
        "EACCES",
    }  # ENOENT, unless a container process has that pid by chance


def test_symlinks_and_dotdot_resolve_inside(inside: Attempt, host_secret: HostSecret) -> None:
    secret = str(host_secret.file)
    script = (
        f"cd /tmp && rm -rf esc-$USER && mkdir esc-$USER && cd esc-$USER"
        f" && ln -s {secret} abs && ln -s ../../../../../../../..{secret} up"
        f" && ln -s /proc/1/root{secret} via-init && ln -s /proc/self/root/.. self-up"
    )
    inside.shell(script)
    base = f"/tmp/esc-{inside.user}"
    assert inside.read(f"{base}/abs") == "ENOENT\n"
    assert inside.read(f"{base}/up") == "ENOENT\n"
    assert inside.read(f"{base}/via-init") == "EACCES\n"
    assert inside.read(f"{base}/self-up{secret}") == "ENOENT\n"
    assert inside.read(f"/../../../..{secret}") == "ENOENT\n"


def test_chroot_breakout_stays_in_the_container(inside: Attempt) -> None:
    result = inside.probe("chroot-escape")
    if inside.user == "vcap":
        assert result == {"chroot": "EPERM"}
    else:  # root keeps sys_chroot: the climb ends at the container's root
        assert result == {"chroot": "OK", "chroot-escape": "contained"}


def test_mounts_and_unmasking_are_refused(inside: Attempt) -> None:
    assert inside.probe("mount") == dict.fromkeys(
        ["mount-tmpfs", "mount-bind", "remount-sys-rw", "remount-proc-sys-rw",
         "remount-bind-rw", "umount-mask", "mount-proc", "fsopen", "open_tree", "pivot_root"],
        "EPERM")  # fmt: skip


def test_a_read_only_bind_mount_stays_read_only(inside: Attempt, probe_dir: Path) -> None:
    # The probe's own directory is a host directory, bind-mounted read-only.
    written = inside.shell("{ echo x > /opt/escape-probe/planted; } 2>&1; true")
    assert "Read-only file system" in written or "Permission denied" in written
    assert sorted(p.name for p in probe_dir.iterdir()) == ["probe"]


def test_new_namespaces_and_setns_are_refused(inside: Attempt) -> None:
    result = inside.probe("namespaces")
    assert result.pop("open-init-mnt-ns") == "EACCES"
    assert result == dict.fromkeys(
        ["unshare-user", "unshare-mnt", "unshare-net", "unshare-pid", "unshare-uts",
         "unshare-cgroup"], "EPERM")  # fmt: skip


def test_file_handles_are_refused(inside: Attempt) -> None:
    # open_by_handle_at opens by inode, past every path check ("shocker").
    assert inside.probe("handle", "/etc/hostname") == {
        "name_to_handle_at": "EPERM",
        "open_by_handle_at": "EPERM",
    }


def test_host_wide_kernel_files_cannot_be_written(inside: Attempt, client: Client,
                                                  shared: str) -> None:  # fmt: skip
    iface = f"w-{container_info(client, shared)[0]}-1"
    # Opened for writing only (never written): core_pattern and modprobe run
    # programs as host root, uevent_helper too, sysrq-trigger reboots.
    paths = ["/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe",
             "/proc/sys/vm/drop_caches", "/proc/sys/kernel/hostname",
             "/proc/sysrq-trigger", "/sys/kernel/uevent_helper",
             f"/sys/class/net/{iface}/mtu"]  # fmt: skip
    for path in paths:
        result = inside.probe("open", path, "w")[path]
        if not Path(path.replace(iface, "lo")).exists():
            assert result == "ENOENT", path  # this kernel has no such file
        elif inside.user == "vcap":  # refused by mode or by the read-only mount
            assert result in {"EACCES", "EROFS"}, path
        else:
            assert result == "EROFS", path
    created = inside.shell("touch /sys/escape 2>&1", check=False)
    assert "Read-only file system" in created


def test_masked_kernel_files_read_empty(inside: Attempt) -> None:
    listing = inside.shell("cat /proc/mounts")
    for name in MASKED_FILES:
        path = f"/proc/{name}"
        if Path(path).exists():
            assert inside.read(path) == "", path
        else:
            assert inside.read(path) == "ENOENT\n", path
    for path in [*(f"/proc/{name}" for name in MASKED_DIRS), "/sys/firmware",
                 "/sys/devices/virtual/powercap"]:  # fmt: skip
        if Path(path).is_dir():
            assert inside.shell(f"ls -A {path} | wc -l") == "0\n", path
            assert f" {path} tmpfs ro," in listing, path
    for name in READONLY_PROC:
        path = f"/proc/{name}"
        if Path(path).exists():
            assert f" {path} proc ro," in listing, path
    assert " /sys sysfs ro," in listing
