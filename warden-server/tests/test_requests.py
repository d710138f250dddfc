"""The whole request set against a real server (insecure backend), through both clients.

Each test runs twice: with the blocking ``warden.client.Client`` and with the
Twisted client (``client`` fixture). What both backends must do alike (states
and their errors, unknown handles and jobs, run, link, stream, copies) is the
backend contract, ``tests_contract/``; this module keeps what the insecure
backend and the two clients add.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from conftest import AnyClient, WardenServer, wait_for

from warden.client import ServerError
from warden.protocol import (
    ResourceLimits,
)


def error_of(call: object, *args: object, **kwargs: object) -> str:
    """The message of the ServerError that ``call`` raises."""
    with pytest.raises(ServerError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(caught.value.message)


def state_error(allowed: str, current: str) -> str:
    return f"Container state must be one of '{allowed}', current state is '{current}'"


def processes_in(directory: str) -> list[int]:
    """Pids whose working directory is ``directory`` (jobs run in <container>/root)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/cwd") == directory:
                    found.append(int(entry))
            except OSError:
                continue
    return found


# -- create --


def test_create_makes_an_active_container_with_a_generated_handle(
    client: AnyClient, server: WardenServer
) -> None:
    handle = client.create().handle
    assert re.fullmatch(r"[0-9a-v]{11}", handle)
    info = client.info(handle)
    assert info.state == "active"
    assert info.container_path == str(server.depot / handle)
    assert info.host_ip == "10.254.0.1"
    assert info.container_ip == "10.254.0.2"
    assert list(info.events) == []
    assert (Path(info.container_path) / "snapshot.json").is_file()
    second = client.info(client.create().handle)
    assert second.host_ip == "10.254.0.5"  # the next /30 of the pool


def test_create_with_a_handle_refuses_a_duplicate(client: AnyClient) -> None:
    assert client.create(handle="mine").handle == "mine"
    assert error_of(client.create, handle="mine") == "container with handle: mine already exists."
    assert list(client.list().handles) == ["mine"]


def test_create_with_a_network_takes_its_slash_30(client: AnyClient) -> None:
    handle = client.create(network="10.254.0.9").handle
    info = client.info(handle)
    assert (info.host_ip, info.container_ip) == ("10.254.0.9", "10.254.0.10")
    assert error_of(client.create, network="10.254.0.11") == "Could not acquire network: 10.254.0.8"
    # The failed create left nothing behind: the handle is free, the pool intact.
    assert len(client.list().handles) == 1


def test_create_fails_cleanly_when_the_uid_pool_is_empty(
    make_server: object, connect_client: object
) -> None:
    server = make_server(user={"pool_start_uid": 30000, "pool_size": 1}).start()  # type: ignore[operator]
    client = connect_client(server)  # type: ignore[operator]
    client.create(handle="first")
    assert error_of(client.create, handle="second") == "no uid available"
    client.destroy("first")
    assert client.create(handle="second").handle == "second"


# -- jobs --


def test_run_returns_status_output_and_info(client: AnyClient) -> None:
    handle = client.create().handle
    result = client.run(handle, "echo out; echo err >&2; pwd; exit 3")
    root = Path(client.info(handle).container_path) / "root"
    assert result.exit_status == 3
    assert result.stdout == f"out\n{root}\n".encode()
    assert result.stderr == b"err\n"
    assert result.info.state == "active"


def test_output_limit_kills_the_job(make_server: object, connect_client: object) -> None:
    server = make_server(server={"job_output_limit": 10000}).start()  # type: ignore[operator]
    client = connect_client(server)  # type: ignore[operator]
    handle = client.create().handle
    result = client.run(handle, "echo begin; cat /dev/zero")
    assert result.exit_status == 255
    assert result.stdout.startswith(b"begin\n")
    assert len(result.stdout) + len(result.stderr) == 10000
    assert "command exceeded maximum output" in result.info.events
    # Streaming sees the same bound.
    job_id = client.spawn(handle, "yes; echo never").job_id
    frames = client.stream_all(handle, job_id)
    assert sum(len(f.data) for f in frames[:-1]) == 10000
    assert frames[-1].exit_status == 255
    # Within the limit, everything comes back.
    assert client.run(handle, "head -c 9999 /dev/zero").stdout == bytes(9999)


def test_discard_output(client: AnyClient) -> None:
    handle = client.create().handle
    result = client.run(handle, "echo hi; echo there >&2; exit 4", discard_output=True)
    assert (result.exit_status, result.stdout, result.stderr) == (4, b"", b"")
    job_id = client.spawn(handle, "head -c 5000000 /dev/zero", discard_output=True).job_id
    frames = client.stream_all(handle, job_id)
    assert len(frames) == 1 and frames[0].exit_status == 0  # no data, no limit


def test_rlimits_from_config_and_request(make_server: object, connect_client: object) -> None:
    server = make_server(server={"container_rlimits": {"nofile": 200}}).start()  # type: ignore[operator]
    client = connect_client(server)  # type: ignore[operator]
    handle = client.create().handle
    assert client.run(handle, "ulimit -n").stdout == b"200\n"
    limits = ResourceLimits(nofile=123, stack=8 << 20)
    limited = client.run(handle, "ulimit -n; ulimit -s", rlimits=limits)
    assert limited.stdout == b"123\n8192\n"
    # The request's limits were for that request only.
    assert client.run(handle, "ulimit -n").stdout == b"200\n"


def test_job_environment_is_empty_but_lang(make_server: object, connect_client: object) -> None:
    server = make_server()  # type: ignore[operator]
    server.env["LANG"] = "C.UTF-8"
    server.env["SECRET_OF_THE_SERVER"] = "x"
    client = connect_client(server.start())  # type: ignore[operator]
    handle = client.create().handle
    names = client.run(handle, "env").stdout.decode().split()
    assert "LANG=C.UTF-8" in names
    assert not [n for n in names if n.startswith(("SECRET", "HOME=", "RLIMIT_", "JOB_DIR"))]
    # No standard signal ignored or blocked (Python ignores SIGPIPE; jobs must
    # not inherit that). glibc's posix_spawn leaves its own internal signals
    # 32 and 33 ignored, which every glibc program resets at start.
    status = client.run(handle, "grep -E '^Sig(Ign|Blk)' /proc/self/status").stdout.split()
    assert status[0::2] == [b"SigBlk:", b"SigIgn:"]
    blocked, ignored = (int(mask, 16) for mask in status[1::2])
    assert (blocked, ignored & 0x7FFFFFFF) == (0, 0)
    assert client.run(handle, "yes | head -c 3").stdout == b"y\ny"


def test_concurrent_links_all_get_the_result(server: WardenServer, connect_client: object) -> None:
    first = connect_client(server)  # type: ignore[operator]
    second = connect_client(server)  # type: ignore[operator]
    handle = first.create().handle
    root = Path(first.info(handle).container_path) / "root"
    job_id = first.spawn(handle, "while [ ! -e go ]; do sleep 0.02; done; echo done").job_id
    import threading

    results: dict[str, object] = {}
    threads = [
        threading.Thread(target=lambda c=c, k=k: results.__setitem__(k, c.link(handle, job_id)))
        for k, c in (("first", first), ("second", second))
    ]
    for thread in threads:
        thread.start()
    (root / "go").touch()
    for thread in threads:
        thread.join(60)
    assert [r.stdout for r in results.values()] == [b"done\n", b"done\n"]  # type: ignore[attr-defined]
    assert error_of(first.link, handle, job_id) == "no such job"


# -- stop and destroy --


def test_stop_terminates_every_process(client: AnyClient) -> None:
    handle = client.create().handle
    root = os.path.join(client.info(handle).container_path, "root")
    first = client.spawn(handle, "sleep 1000").job_id
    second = client.spawn(handle, "sleep 1000 & sleep 1000 & wait").job_id
    wait_for(lambda: len(processes_in(root)) >= 5, what="the jobs to start")
    client.stop(handle)
    assert processes_in(root) == []
    assert sorted(client.info(handle).job_ids) == [first, second]  # ended, still linkable
    # As the original: a job that a signal ended has no exit status (255).
    assert client.link(handle, first).exit_status == 255
    assert client.link(handle, second).exit_status == 255


def test_stop_with_kill_does_not_wait_for_term(server: WardenServer, client: AnyClient) -> None:
    handle = client.create().handle
    job_id = client.spawn(handle, "trap '' TERM; echo ready; sleep 1000").job_id
    streamed = client.spawn(handle, "trap '' TERM; sleep 1000").job_id
    root = os.path.join(client.info(handle).container_path, "root")
    wait_for(lambda: len(processes_in(root)) >= 3, what="the jobs to start")
    client.stop(handle, kill=True)
    assert client.link(handle, job_id).exit_status == 255
    assert client.stream_all(handle, streamed)[-1].exit_status == 255
    # The signal is not lost: the server's log names it.
    assert f"job {job_id} was ended by SIGKILL" in server.log()
    assert processes_in(root) == []


def test_background_stop_replies_at_once(client: AnyClient) -> None:
    handle = client.create().handle
    job_id = client.spawn(handle, "sleep 1000").job_id
    client.stop(handle, background=True)
    assert client.link(handle, job_id).exit_status == 255
    wait_for(lambda: client.info(handle).state == "stopped", what="the stop")


#: A job that leaves only once file ``go`` exists after its TERM, with status 3.
SLOW_TO_STOP = "trap 'while [ ! -e go ]; do sleep 0.02; done; exit 3' TERM; sleep 1000 & wait"


def test_info_says_stopping_until_a_background_stop_is_done(client: AnyClient) -> None:
    handle = client.create().handle
    root = Path(client.info(handle).container_path) / "root"
    # The job takes its time to go: until it has, the stop is under way.
    job_id = client.spawn(handle, SLOW_TO_STOP).job_id
    wait_for(lambda: len(processes_in(str(root))) >= 2, what="the job to start")
    client.stop(handle, background=True)
    wait_for(lambda: client.info(handle).state != "active", what="the stop to start")
    assert client.info(handle).state == "stopping"
    assert error_of(client.spawn, handle, "true") == state_error("active", "stopping")
    (root / "go").touch()
    wait_for(lambda: client.info(handle).state == "stopped", what="the stop")
    assert client.link(handle, job_id).exit_status == 3
    assert processes_in(str(root)) == []


def test_a_stop_during_a_background_stop_returns_once_stopped(client: AnyClient) -> None:
    handle = client.create().handle
    root = Path(client.info(handle).container_path) / "root"
    client.spawn(handle, SLOW_TO_STOP)
    wait_for(lambda: len(processes_in(str(root))) >= 2, what="the job to start")
    client.stop(handle, background=True)
    wait_for(lambda: client.info(handle).state == "stopping", what="the stop to start")
    threading.Timer(0.3, (root / "go").touch).start()
    client.stop(handle)
    assert client.info(handle).state == "stopped"
    assert processes_in(str(root)) == []


def test_destroy_removes_processes_and_files(client: AnyClient) -> None:
    handle = client.create().handle
    path = client.info(handle).container_path
    client.spawn(handle, "sleep 1000")
    client.run(handle, "sleep 1000 > /dev/null 2>&1 &")  # outlives its job
    root = os.path.join(path, "root")
    wait_for(lambda: len(processes_in(root)) >= 2, what="the jobs to start")
    client.destroy(handle)
    assert processes_in(root) == []
    assert not os.path.exists(path)


def test_link_during_destroy_ends_with_the_obituary(
    server: WardenServer, connect_client: object
) -> None:
    from test_connections import RawConnection

    from warden.protocol import LinkRequest, PingRequest, request_to_wire

    destroyer = connect_client(server)  # type: ignore[operator]
    handle = destroyer.create().handle
    job_id = destroyer.spawn(handle, "echo started; sleep 1000").job_id
    # What the job printed before the destroy is what the obituary must hold:
    # wait until it has printed (Spawn answers before its first line).
    stdout = Path(destroyer.info(handle).container_path, "jobs", str(job_id), "stdout")
    wait_for(lambda: stdout.exists() and stdout.read_bytes() == b"started\n", what="the output")
    linker = RawConnection(server.socket_path)
    linker.send(request_to_wire(PingRequest()))
    linker.receive()  # the server has taken the connection in
    linker.send(request_to_wire(LinkRequest(handle=handle, job_id=job_id)))
    # The server reads both sockets in the turn that answers this Ping: the
    # Link is waiting before the Destroy arrives (a Link sent once the
    # destroy is under way gets "unknown handle").
    destroyer.ping()
    destroyer.destroy(handle)
    linked = linker.receive()
    linker.close()
    assert linked.exit_status != 0
    assert linked.stdout == b"started\n"
    assert linked.info.state == "active"  # taken before the stop


# -- net_in and copies --


def test_net_in_hands_out_pool_ports(client: AnyClient) -> None:
    handle = client.create().handle
    first = client.net_in(handle, host_port=1234, container_port=80)
    assert first.host_port == first.container_port  # the insecure backend ignores both
    assert 40000 <= first.host_port < 41000
    second = client.net_in(handle)
    assert second.host_port == first.host_port + 1


def make_tree(base: Path) -> Path:
    src = base / "src"
    (src / "sub").mkdir(parents=True)
    (src / "file").write_bytes(b"data")
    (src / "file").chmod(0o750)
    (src / "sub" / "deep").write_text("deep")
    os.symlink("file", src / "link")
    os.link(src / "file", src / "hard")
    return src


def test_copy_in_and_out(client: AnyClient, server: WardenServer) -> None:
    handle = client.create().handle
    root = Path(client.info(handle).container_path) / "root"
    src = make_tree(server.base)
    # A trailing slash copies the contents; without, the directory itself.
    client.copy_in(handle, f"{src}/", "/contents")
    client.copy_in(handle, str(src), "/itself")
    client.copy_in(handle, str(src / "file"), "/single")
    assert (root / "contents" / "sub" / "deep").read_text() == "deep"
    assert (root / "itself" / "src" / "file").read_bytes() == b"data"
    assert (root / "single").read_bytes() == b"data"
    copied = root / "contents"
    assert (copied / "file").stat().st_mode & 0o777 == 0o750
    assert os.readlink(copied / "link") == "file"
    assert (copied / "hard").stat().st_ino != (copied / "file").stat().st_ino
    assert (copied / "file").stat().st_nlink == 1
    assert client.run(handle, "cat contents/sub/deep").stdout == b"deep"

    out = server.base / "out"
    client.copy_out(handle, "/contents/", str(out), owner="nobody:nogroup")
    assert (out / "sub" / "deep").read_text() == "deep"
    assert os.readlink(out / "link") == "file"
    assert {(p.lstat().st_uid, p.lstat().st_gid) for p in [out, *out.rglob("*")]} == {
        (65534, 65534)
    }
    client.stop(handle)  # copy_out works on a stopped container
    client.copy_out(handle, "/single", str(server.base / "single"))
    assert (server.base / "single").read_bytes() == b"data"
    assert error_of(client.copy_out, handle, "/missing", str(out)) == (
        "command exited with failure: copy: /missing does not exist"
    )


@pytest.mark.parametrize(
    "name", ["ends-in-newline\n", "two\n\n", "\nstarts", "-rf", "--help", "*", "a b", "$(x)"]
)
def test_copy_keeps_names_exactly(client: AnyClient, server: WardenServer, name: str) -> None:
    """A name is copied as it is, for a directory and for a file: no trailing
    newline dropped, none taken for an option or a pattern."""
    handle = client.create().handle
    root = Path(client.info(handle).container_path) / "root"
    src = server.base / "names"
    (src / name).mkdir(parents=True)
    (src / name / name).write_text("content\n")
    client.copy_in(handle, str(src / name), "/in")
    client.copy_in(handle, str(src / name / name), f"/{name}")
    assert [p.name for p in (root / "in").iterdir()] == [name]
    assert (root / "in" / name / name).read_text() == "content\n"
    assert (root / name).read_text() == "content\n"
    out = server.base / "out"
    client.copy_out(handle, f"/in/{name}", str(out))
    client.copy_out(handle, f"/{name}", f"{out}/file")
    assert sorted(p.name for p in out.iterdir()) == sorted([name, "file"])
    assert (out / name / name).read_text() == "content\n"
    assert (out / "file").read_text() == "content\n"
