"""The backend contract: what a client sees is the same on the insecure and the
Linux backend (each test runs against both, see conftest.py); where the two
differ on purpose, the difference is asserted here, by name.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from warden.client import Client, ServerError
from warden.protocol import (
    CopyInRequest,
    CopyOutRequest,
    DestroyRequest,
    InfoRequest,
    LimitBandwidthRequest,
    LimitCpuRequest,
    LimitDiskRequest,
    LimitMemoryRequest,
    LinkRequest,
    NetInRequest,
    NetOutRequest,
    RunRequest,
    SpawnRequest,
    StopRequest,
)
from warden.server.testing import REQUEST_TIMEOUT, ContainerFactory, wait_until

from .conftest import Backend

NO_JOB = 999999


def error_of(call: object, *args: object, **kwargs: object) -> str:
    """The message of the ServerError that ``call`` raises."""
    with pytest.raises(ServerError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(caught.value.message)


def state_error(allowed: str, current: str) -> str:
    return f"Container state must be one of '{allowed}', current state is '{current}'"


# -- requests the server answers itself --


def test_ping_echo_and_list(client: Client, container: str) -> None:
    assert client.ping().ByteSize() == 0
    assert client.echo("héllo, wörld").message == "héllo, wörld"
    assert container in client.list().handles


# -- lifecycle --


def test_create_info_destroy(backend: Backend, client: Client) -> None:
    handle = client.create(timeout=REQUEST_TIMEOUT).handle
    assert re.fullmatch(r"[0-9a-v]{11}", handle)
    info = client.info(handle)
    assert info.state == "active"
    path = Path(info.container_path)
    assert path.parent == backend.server.depot and path.is_dir()
    # A /30 of the pool: the host's address, then the container's.
    host, inside = (int(ip.rsplit(".", 1)[1]) for ip in (info.host_ip, info.container_ip))
    assert info.host_ip.startswith("10.254.0.") and inside == host + 1 and host % 4 == 1
    assert list(info.events) == [] and list(info.job_ids) == []
    assert handle in client.list().handles

    client.destroy(handle, timeout=REQUEST_TIMEOUT)
    assert not path.exists()
    assert handle not in client.list().handles
    assert error_of(client.info, handle) == "unknown handle"
    assert error_of(client.destroy, handle) == "unknown handle"


def test_create_options_and_their_errors(client: Client, make_container: ContainerFactory) -> None:
    handle = make_container(handle="contract-mine", network="10.254.0.201")
    assert handle == "contract-mine"
    info = client.info(handle)
    assert (info.host_ip, info.container_ip) == ("10.254.0.201", "10.254.0.202")
    duplicate = error_of(client.create, handle="contract-mine")
    assert duplicate == "container with handle: contract-mine already exists."
    taken = error_of(client.create, network="10.254.0.202")
    assert taken == "Could not acquire network: 10.254.0.200"
    # The failed creates left nothing behind.
    assert [h for h in client.list().handles if h.startswith("contract-")] == ["contract-mine"]


def test_stop_states_and_their_errors(client: Client, container: str) -> None:
    client.stop(container, timeout=REQUEST_TIMEOUT)
    assert client.info(container).state == "stopped"
    client.stop(container, timeout=REQUEST_TIMEOUT)  # stopping a stopped container: a no-op
    stopped = state_error("active", "stopped")
    assert error_of(client.spawn, container, "true") == stopped
    assert error_of(client.run, container, "true") == stopped
    assert error_of(client.net_in, container) == stopped
    assert error_of(client.copy_in, container, "/etc/hostname", "/x") == stopped
    assert client.info(container).state == "stopped"


def test_stop_terms_jobs_and_kill_does_not_wait(
    backend: Backend, client: Client, make_container: ContainerFactory
) -> None:
    termed = make_container()
    job = client.spawn(termed, "echo ready; exec sleep 1000").job_id
    wait_for_output(client, termed, job, b"ready")
    client.stop(termed, timeout=REQUEST_TIMEOUT)
    # As the original: a job that a signal ended has no exit status (255).
    assert client.link(termed, job, timeout=REQUEST_TIMEOUT).exit_status == 255

    killed = make_container()
    job = client.spawn(killed, "trap '' TERM; echo ready; sleep 1000").job_id
    wait_for_output(client, killed, job, b"ready")
    client.stop(killed, kill=True, timeout=REQUEST_TIMEOUT)
    assert list(client.info(killed).job_ids) == [job]  # ended, still linkable
    assert client.link(killed, job, timeout=REQUEST_TIMEOUT).exit_status == 255
    assert list(client.info(killed).job_ids) == []
    # The signal is not lost: the server's log names it.
    assert f"job {job} was ended by SIGKILL" in backend.server.log()


def wait_for_output(client: Client, handle: str, job_id: int, marker: bytes) -> None:
    """Until job ``job_id`` printed ``marker`` (its traps are set by then): read
    from the job's stdout file in the depot, as both backends keep it there."""
    stdout = Path(client.info(handle).container_path) / "jobs" / str(job_id) / "stdout"
    wait_until(lambda: stdout.exists() and marker in stdout.read_bytes(), message="the job")


@pytest.mark.parametrize(
    "request_",
    [
        StopRequest(handle="nope"),
        DestroyRequest(handle="nope"),
        InfoRequest(handle="nope"),
        SpawnRequest(handle="nope", script="true"),
        LinkRequest(handle="nope", job_id=1),
        RunRequest(handle="nope", script="true"),
        NetInRequest(handle="nope"),
        NetOutRequest(handle="nope", port=80),
        CopyInRequest(handle="nope", src_path="/a", dst_path="/b"),
        CopyOutRequest(handle="nope", src_path="/a", dst_path="/b"),
        LimitMemoryRequest(handle="nope"),
        LimitDiskRequest(handle="nope"),
        LimitBandwidthRequest(handle="nope", rate=1, burst=1),
        LimitCpuRequest(handle="nope"),
    ],
    ids=lambda r: type(r).__name__,
)
def test_unknown_handle(client: Client, request_: object) -> None:
    assert error_of(client.call, request_) == "unknown handle"


def test_unknown_handle_stream(client: Client) -> None:
    assert error_of(lambda: list(client.stream("nope", 1))) == "unknown handle"


# -- jobs --


def test_run_exit_status_output_and_discard(client: Client, container: str) -> None:
    result = client.run(container, "echo out; echo err >&2; exit 3", timeout=REQUEST_TIMEOUT)
    assert (result.exit_status, result.stdout, result.stderr) == (3, b"out\n", b"err\n")
    assert result.info.state == "active"
    discarded = client.run(container, "echo hidden; echo more >&2; exit 5", discard_output=True)
    assert (discarded.exit_status, discarded.stdout, discarded.stderr) == (5, b"", b"")
    # The script is the shell's stdin.
    read = client.run(container, 'read line\nthis line is read\necho "$line"')
    assert read.stdout == b"this line is read\n"


def test_a_signal_death_is_255_and_an_exit_code_is_itself(client: Client, container: str) -> None:
    # As the original: a job whose shell a signal ended has no exit status
    # (255), while a shell that exits 137 (its command was killed) answers 137.
    assert client.run(container, "kill -KILL $$").exit_status == 255
    assert client.run(container, "kill -TERM $$").exit_status == 255
    assert client.run(container, "sh -c 'kill -KILL $$'").exit_status == 137
    assert client.run(container, "exit 137").exit_status == 137
    assert client.run(container, "exit 200").exit_status == 200


def test_binary_output_round_trips(client: Client, container: str) -> None:
    every_byte = 'for i in $(seq 0 255); do printf "\\\\$(printf %03o $i)"; done'
    assert client.run(container, every_byte, timeout=REQUEST_TIMEOUT).stdout == bytes(range(256))
    job = client.spawn(container, every_byte + " >&2").job_id
    frames = list(client.stream(container, job))
    assert b"".join(f.data for f in frames[:-1] if f.name == "stderr") == bytes(range(256))


def test_spawn_then_link_forgets_the_job(client: Client, container: str) -> None:
    first = client.spawn(container, "echo out; echo err >&2; exit 3").job_id
    second = client.spawn(container, "exit 0").job_id
    assert second > first
    linked = client.link(container, first, timeout=REQUEST_TIMEOUT)
    assert (linked.exit_status, linked.stdout, linked.stderr) == (3, b"out\n", b"err\n")
    assert linked.info.state == "active"
    assert first not in client.info(container).job_ids
    assert second in client.info(container).job_ids  # ended or not, not linked yet
    assert error_of(client.link, container, first) == "no such job"
    assert client.link(container, second, timeout=REQUEST_TIMEOUT).exit_status == 0


def test_stream_sends_chunks_then_the_exit_status(client: Client, container: str) -> None:
    job = client.spawn(container, "echo a; echo b >&2; echo c; exit 7").job_id
    frames = list(client.stream(container, job))
    final = frames[-1]
    assert final.exit_status == 7 and final.info.state == "active"
    chunks = frames[:-1]
    assert all(f.data and not f.HasField("exit_status") for f in chunks)
    assert b"".join(f.data for f in chunks if f.name == "stdout") == b"a\nc\n"
    assert b"".join(f.data for f in chunks if f.name == "stderr") == b"b\n"
    assert error_of(lambda: list(client.stream(container, job))) == "no such job"


def test_stream_of_a_finished_job_sends_its_stored_output(client: Client, container: str) -> None:
    job = client.spawn(container, "echo out; echo err >&2").job_id
    # Info lists a job until it is linked: its exit status file tells it ended.
    exit_status = Path(client.info(container).container_path, "jobs", str(job), "exit_status")
    wait_until(exit_status.exists, message="the job to end")
    frames = list(client.stream(container, job))
    assert [(f.name, f.data) for f in frames[:-1]] == [("stdout", b"out\n"), ("stderr", b"err\n")]
    assert frames[-1].exit_status == 0


def test_unknown_job(client: Client, container: str) -> None:
    assert error_of(client.link, container, NO_JOB) == "no such job"
    assert error_of(lambda: list(client.stream(container, NO_JOB))) == "no such job"
    assert client.run(container, "exit 0").exit_status == 0  # the container is unharmed


# -- copies --


def test_copy_in_and_out(backend: Backend, client: Client, container: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "file").write_bytes(b"data")
    (src / "sub" / "deep").write_text("deep")
    home = backend.home.rstrip("/")
    # A trailing slash copies the contents; without, the directory itself.
    client.copy_in(container, f"{src}/", f"{home}/contents", timeout=REQUEST_TIMEOUT)
    client.copy_in(container, str(src), f"{home}/itself", timeout=REQUEST_TIMEOUT)
    client.copy_in(container, str(src / "file"), f"{home}/single", timeout=REQUEST_TIMEOUT)
    seen = client.run(container, "cat contents/sub/deep itself/src/file single")
    assert (seen.exit_status, seen.stdout) == (0, b"deepdatadata")

    out = tmp_path / "out"
    client.copy_out(container, f"{home}/contents/", str(out), timeout=REQUEST_TIMEOUT)
    assert (out / "sub" / "deep").read_text() == "deep"
    client.stop(container, timeout=REQUEST_TIMEOUT)  # copy_out works on a stopped container
    client.copy_out(container, f"{home}/single", str(tmp_path / "single"), timeout=REQUEST_TIMEOUT)
    assert (tmp_path / "single").read_bytes() == b"data"


def test_copy_of_a_missing_source(client: Client, container: str, tmp_path: Path) -> None:
    # Both say that the copy failed, and why (the wording of the why is the backend's).
    failure = "command exited with failure: "
    assert error_of(client.copy_in, container, str(tmp_path / "none"), "/tmp-x").startswith(failure)
    assert error_of(client.copy_out, container, "/none", str(tmp_path / "x")).startswith(failure)


# -- limits and networking: where the backends differ on purpose --


def test_limits_and_net_out(backend: Backend, client: Client, container: str) -> None:
    """The insecure backend has no limits and no firewall: it says so. The
    Linux backend answers each request (the values are the limits suites')."""
    requests = [
        lambda: client.limit_memory(container, limit_in_bytes=256 << 20),
        lambda: client.limit_disk(container),
        lambda: client.limit_bandwidth(container, 1 << 20, 1 << 20),
        lambda: client.limit_cpu(container),
        lambda: client.net_out(container, port=80),
    ]
    if backend.kind == "insecure":
        for request in requests:
            assert error_of(request) == "not implemented"
    else:
        for request in requests:
            request()
        assert client.limit_memory(container).limit_in_bytes == 256 << 20
    assert client.info(container).state == "active"


def test_net_in_hands_out_a_port(backend: Backend, client: Client, container: str) -> None:
    first = client.net_in(container)
    second = client.net_in(container)
    assert first.host_port > 0 and second.host_port != first.host_port
    if backend.kind == "insecure":
        # Its jobs are host processes: the port is the same on both sides.
        assert first.container_port == first.host_port
    else:
        assert client.net_in(container, container_port=8080).container_port == 8080
