"""The warm pool on real containers: a pooled container taken by a Create is a
working one under the requested handle (renaming touches nothing on the
host: everything there goes by the container's id), pooled containers keep
their processes across a restart, and a clean exit destroys them when so
configured, leaving nothing behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from warden.client import ServerError
from warden.server import testing
from warden.server.testing import (
    REQUEST_TIMEOUT,
    LinuxTestServer,
    container_id,
    init_pid,
    output,
    sh,
    wait_for_destroys,
    wait_until,
)

SIZE = 2


@pytest.fixture(scope="module")
def pool_server(rootfs: Path) -> Iterator[LinuxTestServer]:
    """A server of its own (its own network namespace) with a pool of two,
    kept across a clean exit unless a test says otherwise."""
    overrides = {
        "server": {"container_pool_size": SIZE, "container_pool_destroy_on_shutdown": False}
    }
    with testing.linux_server("pool", rootfs=rootfs, overrides=overrides) as made:
        yield made


def pooled(server: LinuxTestServer) -> set[str]:
    """Ids of the idle pooled containers, by their snapshots."""
    found = set()
    for path in server.containers():
        try:
            snapshot = json.loads((path / "snapshot.json").read_text())
        except (OSError, ValueError):
            continue
        if snapshot.get("pooled") is True:
            found.add(path.name)
    return found


def full(server: LinuxTestServer) -> set[str]:
    wait_until(lambda: len(pooled(server)) == SIZE, message="a full pool")
    return pooled(server)


def pooled_init(server: LinuxTestServer, cid: str) -> int:
    return int((server.depot / cid / "run" / "init.pid").read_text())


def test_a_create_from_the_pool_is_a_working_container(pool_server: LinuxTestServer) -> None:
    ready = full(pool_server)
    with pool_server.client() as client:
        handle = client.create(handle="sandbox-1", timeout=REQUEST_TIMEOUT).handle
        assert handle == "sandbox-1"
        cid = container_id(client, handle)
        assert cid in ready
        info = client.info(handle, timeout=REQUEST_TIMEOUT)
        assert info.state == "active"
        assert output(client, handle, "id -un; echo hello > /tmp/f; cat /tmp/f") == (
            "vcap\nhello\n"
        )
        assert output(client, handle, "id -u", privileged=True) == "0\n"
        # Its network: the container side of its /30, on the interface named by its id.
        assert info.container_ip in output(client, handle, "cat /proc/net/fib_trie")
        assert f"w-{cid}-0" in sh("ip", "-n", pool_server.netns or "", "-o", "link", "show")
        limited = client.limit_memory(handle, limit_in_bytes=256 << 20, timeout=REQUEST_TIMEOUT)
        assert limited.limit_in_bytes == 256 << 20
        assert client.list().handles == ["sandbox-1"]
        assert pool_server.cgroup_dir("memory", cid).is_dir()
        refilled = full(pool_server)
        assert cid not in refilled
        client.destroy(handle, timeout=REQUEST_TIMEOUT)
    assert not (pool_server.depot / cid).exists()
    wait_for_destroys(pool_server)  # the cgroups go after the answer
    assert not pool_server.cgroup_dir("memory", cid).exists()


def test_pooled_containers_are_unknown_and_bypassed_by_other_options(
    pool_server: LinuxTestServer,
) -> None:
    ready = full(pool_server)
    with pool_server.client() as client:
        assert client.list().handles == []
        for cid in ready:
            with pytest.raises(ServerError, match=r"^unknown handle$"):
                client.info(cid)
        handle = client.create(network="10.254.0.40", timeout=REQUEST_TIMEOUT).handle
        try:
            assert container_id(client, handle) not in ready
            assert client.info(handle).container_ip == "10.254.0.42"
        finally:
            client.destroy(handle, timeout=REQUEST_TIMEOUT)
    assert pooled(pool_server) == ready


def test_a_restart_keeps_the_pooled_containers_running_and_apart(
    pool_server: LinuxTestServer,
) -> None:
    full(pool_server)
    with pool_server.client() as client:
        named = client.create(handle="named", timeout=REQUEST_TIMEOUT).handle
    ready = full(pool_server)
    pids = {cid: pooled_init(pool_server, cid) for cid in ready}
    assert pool_server.drain() == 0
    pool_server.start()
    try:
        with pool_server.client() as client:
            assert client.list().handles == [named]
            assert pooled(pool_server) == ready
            assert {cid: pooled_init(pool_server, cid) for cid in ready} == pids
            taken = client.create(handle="after", timeout=REQUEST_TIMEOUT).handle
            cid = container_id(client, taken)
            assert cid in ready
            assert init_pid(client, taken) == pids[cid]
            assert output(client, taken, "echo recovered") == "recovered\n"
            client.destroy(taken, timeout=REQUEST_TIMEOUT)
    finally:
        with pool_server.client() as client:
            client.destroy(named, timeout=REQUEST_TIMEOUT)


def test_a_clean_exit_destroys_the_pool_when_configured(pool_server: LinuxTestServer) -> None:
    ready = full(pool_server)
    pool_server.config["server"]["container_pool_destroy_on_shutdown"] = True
    pool_server.write_config()
    pool_server.stop()
    pool_server.start()
    try:
        ready = full(pool_server)  # the pool recovered, with the new setting
        with pool_server.client() as client:
            named = container_id(client, client.create(handle="stays").handle)
        ready = full(pool_server)
        assert pool_server.process is not None
        pool_server.process.terminate()
        assert pool_server.wait() == 0
        assert [p.name for p in pool_server.containers()] == [named]
        for cid in ready:
            assert not pool_server.cgroup_dir("memory", cid).exists()
    finally:
        pool_server.config["server"]["container_pool_destroy_on_shutdown"] = False
        pool_server.write_config()
        if pool_server.process is None:
            pool_server.start()
    with pool_server.client() as client:
        assert client.list().handles == ["stays"]
        client.destroy("stays", timeout=REQUEST_TIMEOUT)
