"""The extensions (properties, bulk info, signals, capacity) behave alike on
the insecure and the Linux backend (each test runs against both)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from warden.client import Client, ServerError
from warden.protocol import properties_of
from warden.server.testing import REQUEST_TIMEOUT, ContainerFactory, unique_token, wait_until

from .conftest import Backend
from .test_contract import wait_for_output


def error_of(call: object, *args: object, **kwargs: object) -> str:
    """The message of the ServerError that ``call`` raises."""
    with pytest.raises(ServerError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(caught.value.message)


def test_properties(client: Client, make_container: ContainerFactory) -> None:
    token = unique_token(6)  # the server is shared: only our containers match
    handle = make_container(properties={"suite": token, "role": "a"})
    other = make_container(properties={"suite": token})
    assert properties_of(client.info(handle)) == {"suite": token, "role": "a"}
    client.set_property(other, "role", "b")
    assert client.get_property(other, "role") == "b"
    assert sorted(client.list(properties={"suite": token}).handles) == sorted([handle, other])
    assert client.list(properties={"suite": token, "role": "b"}).handles == [other]
    client.remove_property(other, "role")
    assert error_of(client.get_property, other, "role") == "unknown property: 'role'"
    assert set(client.list().handles) >= {handle, other}


def test_properties_of_a_stopped_container(client: Client, container: str) -> None:
    client.stop(container, timeout=REQUEST_TIMEOUT)
    client.set_property(container, "k", "v")
    assert client.get_property(container, "k") == "v"


def test_bulk_info(client: Client, make_container: ContainerFactory) -> None:
    one, two = make_container(), make_container(properties={"n": "2"})
    infos = client.bulk_info([one, two, "contract-absent"], timeout=REQUEST_TIMEOUT)
    assert infos[one].state == "active"  # type: ignore[union-attr]
    assert properties_of(infos[two]) == {"n": "2"}
    assert str(infos["contract-absent"]) == "unknown handle"
    everything = client.bulk_info(timeout=REQUEST_TIMEOUT)
    assert {one, two} <= set(everything)
    assert all(not isinstance(v, ServerError) for v in everything.values())


def test_signal_reaches_the_job_not_its_keeper(client: Client, container: str) -> None:
    """USR1 to the job: its trap runs inside the container, and the keeper,
    whose default for USR1 would end it, stays to keep the output and the status."""
    job = client.spawn(
        container, "trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done"
    ).job_id
    wait_for_output(client, container, job, b"ready")
    client.signal(container, job, "SIGUSR1")
    linked = client.link(container, job, timeout=REQUEST_TIMEOUT)
    assert (linked.exit_status, linked.stdout) == (7, b"ready\ngot-usr1\n")


def test_signal_reaches_the_whole_process_group(client: Client, container: str) -> None:
    job = client.spawn(container, "sleep 1000 & echo $! > bg.pid; echo ready; wait").job_id
    wait_for_output(client, container, job, b"ready")
    client.signal(container, job, "kill")
    assert client.link(container, job, timeout=REQUEST_TIMEOUT).exit_status == 255
    # The job's child, in its process group, got it too.
    probe = "kill -0 $(cat bg.pid) 2>/dev/null && echo alive || echo gone"
    wait_until(lambda: client.run(container, probe).stdout == b"gone\n", message="the child")


def test_signal_errors(client: Client, container: str) -> None:
    job = client.spawn(container, "true").job_id
    client.link(container, job, timeout=REQUEST_TIMEOUT)
    assert error_of(client.signal, container, job, "TERM") == f"no such job: {job}"
    assert error_of(client.signal, container, job, "WINCH") == (
        "unknown signal 'WINCH' (allowed: TERM, KILL, INT, HUP, QUIT, USR1, USR2)"
    )


def test_capacity(backend: Backend, client: Client) -> None:
    capacity = client.capacity()
    assert capacity.memory_in_bytes == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    depot = os.statvfs(backend.server.depot)
    assert capacity.disk_in_bytes == depot.f_blocks * depot.f_frsize
    config = backend.server.config
    network = config["network"].get("pool_network", "10.254.0.0/24")
    network_size = 2 ** (32 - int(network.split("/")[1])) // 4
    assert capacity.max_containers == min(network_size, config["user"]["pool_size"])


def warden_tool(backend: Backend, *command: str, expect: int = 0) -> tuple[str, str]:
    """The ``warden`` shell, one command, against this backend's server."""
    tool = os.path.join(os.path.dirname(sys.executable), "warden")
    done = subprocess.run(
        [tool, "--socket", backend.server.socket_path, "--", *command],
        capture_output=True,
        timeout=REQUEST_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == expect, (command, done)
    return done.stdout.decode(), done.stderr.decode()


def test_the_shell_commands(backend: Backend, client: Client, container: str) -> None:
    token = unique_token(6)
    assert warden_tool(backend, "set_property", "--handle", container, "--key", "s",
                       "--value", token) == ("", "")  # fmt: skip
    assert warden_tool(backend, "get_property", "--handle", container, "--key", "s") == (
        f"value : {token}\n",
        "",
    )
    assert warden_tool(backend, "list", "--properties", f"s={token}") == (
        f"handles[0] : {container}\n",
        "",
    )
    out, _ = warden_tool(backend, "bulk_info", "--handles", container)
    assert out.startswith(f"entries[0].handle : {container}\nentries[0].info.state : active\n")
    job = client.spawn(container, "trap 'exit 7' USR2; echo ready; while :; do sleep 0.05; done")
    wait_for_output(client, container, job.job_id, b"ready")
    assert warden_tool(backend, "signal", "--handle", container, "--job_id", str(job.job_id),
                       "--signal", "usr2") == ("", "")  # fmt: skip
    assert client.link(container, job.job_id, timeout=REQUEST_TIMEOUT).exit_status == 7
    assert warden_tool(backend, "remove_property", "--handle", container, "--key", "s") == ("", "")
    out, _ = warden_tool(backend, "capacity")
    assert out.startswith("memory_in_bytes : ")
