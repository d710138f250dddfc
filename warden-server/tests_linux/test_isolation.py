"""What a job in a container can see and do: only its own container."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from warden.client import Client
from warden.protocol import CreateRequest

from .conftest import ContainerFactory, LinuxServer, container_id, init_pid, output, run, sh

BindMount = CreateRequest.BindMount


def test_own_processes_and_hostname(server: LinuxServer, client: Client, container: str) -> None:
    processes = output(client, container, "ps -e -o pid=,comm=").split("\n")
    names = sorted(line.split()[1] for line in processes if line.strip())
    # The init, the job's shell and ps itself; nothing of the host.
    assert names == sorted(["catatonit", "bash", "ps"])
    assert output(client, container, "echo $$").strip() != "1"
    assert output(client, container, "cat /proc/1/cmdline | tr '\\0' ' '") == "catatonit -P "
    # Nothing of the server's environment reaches the container. (Read from
    # the host: a privileged job may not read it, since its bounded
    # capabilities are fewer than the init's.)
    pid = init_pid(server, client, container)
    assert Path(f"/proc/{pid}/environ").read_bytes() == b""
    assert output(client, container, "hostname") == f"{container_id(client, container)}\n"
    assert os.readlink(f"/proc/{pid}/ns/pid") != os.readlink("/proc/self/ns/pid")


def test_the_init_keeps_nothing_of_its_start(
    server: LinuxServer, client: Client, container: str
) -> None:
    """The init holds no file of the host or of its start-up, leads a session
    of its own, is nobody's child of the start-up, and /dev holds only the
    container's entries (the link the init was executed through is gone)."""
    pid = init_pid(server, client, container)
    targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in sorted(os.listdir(f"/proc/{pid}/fd"))]
    assert targets[:3] == ["/dev/null"] * 3
    assert all(target.startswith("anon_inode:") for target in targets[3:])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    parent, session = int(fields[1]), int(fields[3])
    assert session == pid
    parent_name = Path(f"/proc/{parent}/comm").read_text().strip()
    assert parent_name not in ("warden-start", "bash", "unshare", "start.sh")
    assert sorted(os.listdir(f"/proc/{pid}/root/dev")) == sorted([
        "fd", "full", "fuse", "null", "ptmx", "pts", "random", "shm",
        "stderr", "stdin", "stdout", "tty", "urandom", "zero",
    ])  # fmt: skip


def test_mounts_are_the_containers_own(
    tmp_path: Path, client: Client, make_container: ContainerFactory
) -> None:
    (tmp_path / "ro").mkdir()
    (tmp_path / "rw").mkdir()
    (tmp_path / "rw").chmod(0o777)  # for vcap
    handle = make_container(bind_mounts=[
        BindMount(src_path=str(tmp_path / "ro"), dst_path="/mnt/ro", mode=BindMount.RO),
        BindMount(src_path=str(tmp_path / "rw"), dst_path="/data/rw", mode=BindMount.RW),
    ])  # fmt: skip
    mounts = output(client, handle, "cat /proc/mounts")
    points = [line.split()[1] for line in mounts.splitlines()]
    # /proc, then (server.restrict_proc_sys) /sys and the masks over /proc and
    # /sys that this kernel has paths for (tests_adversarial checks them), then
    # the bind mounts.
    assert points[:6] == ["/", "/dev", "/dev/pts", "/dev/shm", "/proc", "/sys"]
    assert all(point.startswith(("/proc/", "/sys/")) for point in points[6:-2])
    assert points[-2:] == ["/mnt/ro", "/data/rw"]
    # The host's mount table knows nothing of the container's.
    host = Path("/proc/self/mountinfo").read_text()
    assert str(tmp_path) not in host and "upperdir=tmp/rootfs" not in host

    result = run(client, handle, "touch /mnt/ro/x", privileged=True)
    assert result.exit_status != 0 and b"Read-only file system" in result.stderr
    output(client, handle, "echo written > /data/rw/file")
    assert (tmp_path / "rw" / "file").read_text() == "written\n"
    assert not (tmp_path / "ro" / "x").exists()


def test_devices(client: Client, container: str) -> None:
    listing = output(client, container, "ls /dev | sort | tr '\\n' ' '")
    expected = "fd full fuse null ptmx pts random shm stderr stdin stdout tty urandom zero"
    assert listing.split() == expected.split()
    assert output(client, container, "head -c 4 /dev/urandom | wc -c") == "4\n"
    assert output(client, container, "echo x > /dev/null && echo ok") == "ok\n"
    # The devices cgroup refuses anything else, even to root.
    result = run(client, container, "mknod /tmp/disk b 254 0 && cat /tmp/disk", privileged=True)
    assert result.exit_status != 0


#: Every entry of a container's /dev: type, mode, device numbers, link target.
DEV_LISTING = """\
fd symbolic link 777 0:0 /proc/self/fd
full character special file 666 1:7
fuse character special file 666 a:e5
null character special file 666 1:3
ptmx symbolic link 777 0:0 pts/ptmx
pts directory 755 0:0
random character special file 666 1:8
shm directory 1777 0:0
stderr symbolic link 777 0:0 /proc/self/fd/2
stdin symbolic link 777 0:0 /proc/self/fd/0
stdout symbolic link 777 0:0 /proc/self/fd/1
tty character special file 666 5:0
urandom character special file 666 1:9
zero character special file 666 1:5
"""
LIST_DEV = "cd /dev && for f in *; do echo $f $(stat -c '%F %a %t:%T' $f) $(readlink $f); done"


def test_dev_is_the_same_from_the_template_or_made_node_by_node(
    server: LinuxServer, client: Client, make_container: ContainerFactory
) -> None:
    # The server's host setup made the template in the depot: one cp at each start.
    template = server.depot / ".dev-template"
    assert (template / "null").is_char_device()
    assert output(client, make_container(), LIST_DEV, privileged=True) == DEV_LISTING
    # Without it (a depot that takes no device nodes), each start makes them.
    moved = server.depot / ".dev-template.moved"
    template.rename(moved)
    try:
        assert output(client, make_container(), LIST_DEV, privileged=True) == DEV_LISTING
    finally:
        moved.rename(template)


def test_rootfs_lower_layer_is_not_written(rootfs: Path, client: Client, container: str) -> None:
    result = run(client, container, "touch /etc/by-vcap")
    assert result.exit_status != 0 and b"Permission denied" in result.stderr
    output(client, container, "echo changed > /etc/motd; echo new > /new-file", privileged=True)
    assert output(client, container, "cat /etc/motd /new-file") == "changed\nnew\n"
    assert not (rootfs / "new-file").exists()
    assert (rootfs / "etc" / "motd").read_text() != "changed\n"


def test_two_containers_do_not_see_each_other(
    client: Client, make_container: ContainerFactory
) -> None:
    first, second = make_container(), make_container()
    job = client.spawn(first, "echo mine > /tmp/secret; exec sleep 1000").job_id
    wait_for_sleep = "until pgrep -x sleep > /dev/null; do sleep 0.02; done"
    assert output(client, first, f"{wait_for_sleep}; cat /tmp/secret") == "mine\n"
    assert run(client, second, "cat /tmp/secret").exit_status != 0
    assert "sleep" not in output(client, second, "ps -e -o comm=")
    first_ip = client.info(first).container_ip
    assert first_ip not in output(client, second, "cat /proc/net/fib_trie")
    client.stop(first, kill=True)
    client.link(first, job)


def test_users(server: LinuxServer, client: Client, container: str) -> None:
    uid = output(client, container, "id -u").strip()
    assert int(uid) >= server.config["user"]["pool_start_uid"]
    assert output(client, container, "id -un; id -g; id -G") == f"vcap\n{uid}\n{uid}\n"
    assert output(client, container, "echo $HOME; pwd; getent passwd vcap | cut -d: -f6,7") == (
        "/home/vcap\n/home/vcap\n/home/vcap:/bin/bash\n"
    )
    assert output(client, container, "id -u; id -G; pwd", privileged=True) == "0\n0\n/root\n"


@pytest.mark.parametrize("privileged", [False, True])
def test_environment(client: Client, container: str, privileged: bool) -> None:
    env = output(client, container, "env | sort", privileged=privileged)
    names = sorted(line.split("=", 1)[0] for line in env.splitlines())
    assert names == ["HOME", "LANG", "PATH", "PWD", "SHLVL", "USER", "_"]
    path = "/sbin:/bin:/usr/sbin:/usr/bin" if privileged else "/bin:/usr/bin"
    assert f"PATH={path}\n" in env


def test_network_interfaces(server: LinuxServer, client: Client, container: str) -> None:
    info = client.info(container)
    cid = container_id(client, container)
    mtu = server.config["network"]["mtu"]
    host_side = sh("ip", "-n", server.netns, "-o", "addr", "show", "dev", f"w-{cid}-0")
    assert f"inet {info.host_ip}/30" in host_side
    assert f"mtu {mtu}" in sh("ip", "-n", server.netns, "-o", "link", "show", f"w-{cid}-0")
    inside = ["nsenter", "-t", str(init_pid(server, client, container)), "-n", "ip", "-o"]
    assert f"inet {info.container_ip}/30" in sh(*inside, "addr", "show", "dev", f"w-{cid}-1")
    assert "inet 127.0.0.1/8" in sh(*inside, "addr", "show", "dev", "lo")
    assert f"mtu {mtu}" in sh(*inside, "link", "show", f"w-{cid}-1")
    assert sh(*inside, "route", "show", "default").startswith(f"default via {info.host_ip} ")
    # Only those two interfaces in the container.
    names = [line.split(":")[1].strip() for line in sh(*inside, "link").splitlines()]
    assert sorted(name.split("@")[0] for name in names) == sorted(["lo", f"w-{cid}-1"])
