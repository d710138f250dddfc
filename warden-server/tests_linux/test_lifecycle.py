"""Every lifecycle request on real containers, Create's options and its errors."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from warden.client import Client, ServerError
from warden.protocol import CreateRequest
from warden.server._spawn import PRIORITY_BOOST
from warden.server.testing import wait_for_destroys, wait_until

from .conftest import (
    TIMEOUT,
    ContainerFactory,
    LinuxServer,
    container_id,
    init_pid,
    output,
    running_server,
)

BindMount = CreateRequest.BindMount
RO = BindMount.RO


def test_create_info_destroy(server: LinuxServer, client: Client) -> None:
    handle = client.create(timeout=TIMEOUT).handle
    info = client.info(handle)
    assert info.state == "active"
    assert info.host_ip.startswith("10.254.0.")
    assert int(info.container_ip.rsplit(".", 1)[1]) == int(info.host_ip.rsplit(".", 1)[1]) + 1
    path = Path(info.container_path)
    assert path.parent == server.depot
    assert len(path.name) == 11 and handle == path.name
    assert handle in client.list().handles
    assert server.cgroup_dir("freezer", path.name).is_dir()
    init = init_pid(server, client, handle)

    client.destroy(handle, timeout=TIMEOUT)
    # What the answer says: the processes dead, the network unreachable (the
    # host's end of the veth gone), gone from the depot and from List.
    assert not _alive(init)
    assert not any(link.startswith(f"w-{path.name}-") for link in _links(server))
    assert not path.exists()
    assert handle not in client.list().handles
    # The rest (firewall, cgroups, files) once the destroy has finished.
    wait_for_destroys(server)
    assert not server.cgroup_dir("freezer", path.name).exists()
    assert not (server.depot / ".trash" / path.name).exists()
    with pytest.raises(ServerError, match="unknown handle"):
        client.info(handle)


def _wait_ready(client: Client, container: str, job_id: int) -> None:
    """Until the job printed "ready": it runs in the container, its traps set
    (Spawn returns once the job has a pid, before it entered the container)."""
    stdout = Path(client.info(container).container_path) / "jobs" / str(job_id) / "stdout"

    def ready() -> bool:
        return stdout.exists() and b"ready" in stdout.read_bytes()

    wait_until(ready, TIMEOUT, f"job {job_id} to get ready")


def test_stop_terms_jobs_and_keeps_the_init(
    server: LinuxServer, client: Client, container: str
) -> None:
    term = client.spawn(container, "trap 'echo bye; exit 7' TERM; echo ready; sleep 1000 & wait")
    stubborn = client.spawn(container, "trap '' TERM; echo ready; sleep 1000")
    plain = client.spawn(container, "echo ready; sleep 1000").job_id
    for job in (term.job_id, stubborn.job_id, plain):
        _wait_ready(client, container, job)
    pid = init_pid(server, client, container)
    client.stop(container, timeout=TIMEOUT)  # the stubborn job gets KILL after 10 s
    assert client.info(container).state == "stopped"
    term_result = client.link(container, term.job_id)
    assert (term_result.exit_status, term_result.stdout) == (7, b"ready\nbye\n")
    # As the original: jobs that a signal ended have no exit status (255).
    assert client.link(container, stubborn.job_id).exit_status == 255
    assert client.link(container, plain).exit_status == 255
    procs = server.cgroup_dir("freezer", container_id(client, container)) / "cgroup.procs"
    assert procs.read_text().split() == [str(pid)]
    # A stopped container still copies out (its init lives on).
    assert client.info(container).state == "stopped"


def test_handle_and_network_options(client: Client, make_container: ContainerFactory) -> None:
    handle = make_container(handle="my-handle", network="10.254.0.201")
    info = client.info(handle)
    assert (info.host_ip, info.container_ip) == ("10.254.0.201", "10.254.0.202")
    assert output(client, handle, "cat /proc/net/fib_trie | grep -c 10.254.0.202") != "0\n"
    with pytest.raises(ServerError, match=r"container with handle: my-handle already exists\."):
        client.create(handle="my-handle")
    with pytest.raises(ServerError, match=r"Could not acquire network: 10\.254\.0\.200"):
        client.create(network="10.254.0.202")


def test_grace_time_option(server: LinuxServer, make_container: ContainerFactory) -> None:
    handle = make_container(grace_time=1)
    # make_container's connection is closed: nothing references the container.

    def gone() -> bool:
        with server.client() as client:
            return handle not in client.list().handles

    wait_until(gone, 60, "the grace timer to destroy the container")


def test_rootfs_option(tmp_path: Path, rootfs: Path, client: Client,
                       make_container: ContainerFactory) -> None:  # fmt: skip
    with pytest.raises(ServerError, match=f"rootfs {tmp_path}/none not found"):
        client.create(rootfs=f"{tmp_path}/none")
    # Another rootfs: the default one's files (hard links, nothing copied), a
    # marker, and a vcap user of its own whose files must follow the pool uid.
    other = tmp_path / "rootfs"
    subprocess.run(["cp", "-al", str(rootfs), str(other)], check=True)
    (other / "marker").write_text("other rootfs\n")
    passwd = (other / "etc" / "passwd").read_text()
    (other / "etc" / "passwd").unlink()  # a hard link: never write through it
    (other / "etc" / "passwd").write_text(passwd + "vcap:x:4242:4242::/home/vcap:/bin/sh\n")
    (other / "opt" / "vcap-file").write_text("mine\n")
    os.chown(other / "opt" / "vcap-file", 4242, 4242)
    handle = make_container(rootfs=str(other))
    assert output(client, handle, "cat /marker") == "other rootfs\n"
    uid = output(client, handle, "id -u").strip()
    assert output(client, handle, "stat -c %u:%g /opt/vcap-file") == f"{uid}:{uid}\n"
    assert (other / "opt" / "vcap-file").stat().st_uid == 4242  # the lower layer is untouched


def test_layout_template_follows_the_rootfs(
    tmp_path: Path, rootfs: Path, server: LinuxServer, client: Client,
    make_container: ContainerFactory,
) -> None:  # fmt: skip
    """The layout create.sh keeps per rootfs is made again when the rootfs's
    files change: a container sees the rootfs's passwd and skel as they are
    at its create, and gets its own hostname and vcap uid either way."""
    other = tmp_path / "rootfs"
    subprocess.run(["cp", "-al", str(rootfs), str(other)], check=True)
    first = make_container(rootfs=str(other))
    templates = server.depot / ".container-templates"
    template = templates / str(other).replace("/", "%2F")
    assert (template / "tmp" / "lower").readlink() == other
    passwd = other / "etc" / "passwd"
    text = passwd.read_text()
    passwd.unlink()  # hard links: never write through them
    passwd.write_text(text + "extra:x:4243:4243::/nonexistent:/bin/false\n")
    (other / "etc" / "skel" / ".extra").write_text("new in skel\n")
    # What a create killed while making a template leaves (no such pid).
    (templates / ".new.99999999" / "etc").mkdir(parents=True)
    second = make_container(rootfs=str(other))
    assert "extra:x:4243" not in output(client, first, "cat /etc/passwd")
    assert "extra:x:4243" in output(client, second, "cat /etc/passwd")
    assert output(client, second, "cat /home/vcap/.extra") == "new in skel\n"
    for handle in (first, second):
        uid = output(client, handle, "id -u").strip()
        assert output(client, handle, "stat -c %u /home/vcap/.bashrc") == f"{uid}\n"
        assert output(client, handle, "hostname") == f"{container_id(client, handle)}\n"
    assert output(client, first, "id -u") != output(client, second, "id -u")
    # The current template in place, nothing left of the one made again nor
    # of the abandoned one.
    assert "extra:x:4243" in (template / "tmp" / "rootfs" / "etc" / "passwd").read_text()
    assert [entry.name for entry in templates.iterdir() if entry.name.startswith(".")] == []


def test_layout_template_shares_only_what_no_container_can_reach(
    rootfs: Path, server: LinuxServer, client: Client, make_container: ContainerFactory
) -> None:
    """A container directory is made from the layout template with its
    scripts, lib/ and rootfs link as hard links (the host's files, out of every
    container's reach) and its writable layer as copies of its own: root in a
    container changing its passwd and vcap's files changes neither the
    template nor another container."""
    first, second = make_container(), make_container()
    template = server.depot / ".container-templates" / str(rootfs).replace("/", "%2F")
    for handle in (first, second):
        path = Path(client.info(handle).container_path)
        for name in ("start.sh", "stop.sh", "destroy.sh", "lib/common.sh", "tmp/lower"):
            assert (path / name).lstat().st_ino == (template / name).lstat().st_ino, name
        assert (path / "etc" / "config").stat().st_nlink == 1
    layer = template / "tmp" / "rootfs"
    files = [entry for entry in layer.rglob("*") if not entry.is_dir()]
    assert layer / "etc" / "passwd" in files and layer / "home" / "vcap" / ".bashrc" in files
    for entry in files:
        assert entry.lstat().st_nlink == 1, entry  # no container holds it
    before = {entry: entry.read_bytes() for entry in files}
    output(client, first, "echo intruder >> /etc/passwd; echo mine >> /home/vcap/.bashrc",
           privileged=True)  # fmt: skip
    assert {entry: entry.read_bytes() for entry in files} == before
    assert "intruder" not in output(client, second, "cat /etc/passwd")
    assert "mine" not in output(client, second, "cat /home/vcap/.bashrc")
    uid = output(client, second, "id -u").strip()
    assert output(client, second, "stat -c %u /home/vcap /home/vcap/.bashrc") == f"{uid}\n" * 2
    # The copies keep the rootfs's mode and group (shadow: 640, group shadow).
    lower = (rootfs / "etc" / "shadow").stat()
    assert output(client, second, "stat -c '%a %g' /etc/shadow", privileged=True) == (
        f"{lower.st_mode & 0o7777:o} {lower.st_gid}\n"
    )


def test_bind_mount_errors(tmp_path: Path, server: LinuxServer, client: Client) -> None:
    before = sorted(os.listdir(server.depot))
    missing = str(tmp_path / "missing")
    with pytest.raises(ServerError, match=f"Source path for bind mount does not exist: {missing}"):
        client.create(bind_mounts=[BindMount(src_path=missing, dst_path="/mnt/x", mode=RO)])
    with pytest.raises(ServerError, match="Destination path for bind mount"):
        client.create(bind_mounts=[BindMount(src_path=str(tmp_path), dst_path="/../etc", mode=RO)])
    assert sorted(os.listdir(server.depot)) == before


def test_create_failing_part_way_leaves_nothing(
    tmp_path: Path, server: LinuxServer, client: Client
) -> None:
    before = _depot_containers(server)
    cgroups_before = sorted(os.listdir(server.cgroup_dir("freezer")))
    links_before = _links(server)
    # The destination lies under a file of the rootfs: the bind mount fails
    # inside the new namespaces, after cgroups and veth are made.
    bad = BindMount(src_path=str(tmp_path), dst_path="/etc/hostname/sub", mode=BindMount.RW)
    with pytest.raises(ServerError, match="command exited with failure"):
        client.create(bind_mounts=[bad], timeout=TIMEOUT)
    assert _depot_containers(server) == before
    assert sorted(os.listdir(server.cgroup_dir("freezer"))) == cgroups_before
    assert _links(server) == links_before
    assert "failed" in server.log() or "exited 1" in server.log()
    # And the pools got their resources back: the next create works.
    handle = client.create(timeout=TIMEOUT).handle
    client.destroy(handle, timeout=TIMEOUT)


def test_a_veth_left_by_an_earlier_start_is_replaced(server: LinuxServer, client: Client) -> None:
    # Container ids count up by one: the next one's host link made beforehand,
    # as a start killed after making its veth leaves it. warden-start finds
    # the name taken, deletes that link and makes the pair.
    first = client.create(timeout=TIMEOUT).handle
    next_id = _next_id(container_id(client, first))
    stale, peer = f"w-{next_id}-0", f"s-{next_id}"
    add = ["link", "add", stale, "type", "veth", "peer", "name", peer]
    subprocess.run(["ip", "-n", server.netns, *add], check=True)
    try:
        second = client.create(timeout=TIMEOUT).handle
        assert container_id(client, second) == next_id
        # The stale pair is gone (its other end with it); the new host end has its address.
        assert peer not in _links(server)
        addresses = subprocess.run(
            ["ip", "-n", server.netns, "-o", "address", "show", "dev", stale],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert f"inet {client.info(second).host_ip}/30" in addresses
        # The container's end is up with its peer: the new pair, not the stale link.
        operstate = f"cat /sys/class/net/w-{next_id}-1/operstate"
        assert output(client, second, operstate).strip() == "up"
        client.destroy(second, timeout=TIMEOUT)
        assert stale not in _links(server)
    finally:
        for link in (stale, peer):
            delete = ["ip", "-n", server.netns, "link", "delete", link]
            subprocess.run(delete, check=False, capture_output=True)
        client.destroy(first, timeout=TIMEOUT)


_ID_DIGITS = "0123456789abcdefghijklmnopqrstuv"


def _next_id(container: str) -> str:
    """The id the server gives next (``ContainerIds``: a counter in base 32)."""
    counter = 0
    for digit in container:
        counter = counter * 32 + _ID_DIGITS.index(digit)
    counter += 1
    return "".join(_ID_DIGITS[(counter >> (55 - (i + 1) * 5)) & 31] for i in range(11))


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _depot_containers(server: LinuxServer) -> list[str]:
    """The depot's entries but the templates the first create makes (shared
    caches kept for the next creates, not anything of one container's)."""
    caches = {".container-templates", ".disk-templates"}
    return sorted(set(os.listdir(server.depot)) - caches)


def _links(server: LinuxServer) -> list[str]:
    out = subprocess.run(
        ["ip", "-n", server.netns, "-o", "link", "show"], capture_output=True, text=True, check=True
    ).stdout
    return sorted(line.split(":")[1].strip() for line in out.splitlines())


def _policy(stat: str) -> int:
    """The scheduling policy in a /proc/.../stat line (its 41st field)."""
    return int(stat.rsplit(")", 1)[1].split()[38])


def test_reactor_realtime_puts_the_reactor_alone_under_sched_rr_in_a_burst(
        netns: str, rootfs: Path, tmp_path: Path) -> None:  # fmt: skip
    with running_server(tmp_path / "server", netns, rootfs, name="rt",
                        server_config={"reactor_realtime": True}) as server:  # fmt: skip
        # Allowed, and normal while no burst runs (once the start's own scripts have ended).
        normal = os.SCHED_OTHER | os.SCHED_RESET_ON_FORK
        wait_until(lambda: os.sched_getscheduler(server.pid) == normal, message="a normal reactor")
        seen: set[int] = set()

        def create() -> str:
            with server.client() as client:
                return client.create(timeout=TIMEOUT).handle

        with ThreadPoolExecutor(4) as pool:
            made = [pool.submit(create) for _ in range(4)]
            while not all(m.done() for m in made):
                seen.add(os.sched_getscheduler(server.pid) & ~os.SCHED_RESET_ON_FORK)
        handles = [m.result() for m in made]
        assert os.SCHED_RR in seen  # while the creates' scripts ran
        with server.client() as client:
            job = output(client, handles[0], "cat /proc/self/stat")
            for handle in handles:
                client.destroy(handle, timeout=TIMEOUT)
        wait_until(
            lambda: os.sched_getscheduler(server.pid) == normal, message="a normal reactor again"
        )
        tasks = Path(f"/proc/{server.pid}/task")
        others = [int(t.name) for t in tasks.iterdir() if int(t.name) != server.pid]
        assert others and {os.sched_getscheduler(tid) for tid in others} == {os.SCHED_OTHER}
        children = (tasks / str(server.pid) / "children").read_text().split()
        spawner = [
            int(pid)
            for pid in children
            if "(warden-spawner)" in Path(f"/proc/{pid}/stat").read_text()
        ]
        assert [os.sched_getscheduler(pid) for pid in spawner] == [os.SCHED_OTHER]
        # The thread pool's threads keep the reactor's niceness, above the scripts'.
        below = os.getpriority(os.PRIO_PROCESS, spawner[0]) - PRIORITY_BOOST
        assert {os.getpriority(os.PRIO_PROCESS, tid) for tid in others} == {max(-20, below)}
        assert _policy(job) == os.SCHED_OTHER
