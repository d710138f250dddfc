"""The warm pool (``server.container_pool_size``) through a real server process:
a Create takes a pooled container, the pool refills, pooled containers stay
out of List and grace timers, survive a restart as pooled, and go at a clean
exit when so configured."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable

import pytest
from conftest import WardenServer, wait_for
from test_metrics import free_port, scrape, value

from warden.client import Client, ServerError
from warden.protocol import CreateRequest

POOL = {"container_pool_size": 2}


def snapshots(server: WardenServer) -> dict[str, dict[str, object]]:
    """Each container directory's snapshot by container id (those that have one)."""
    found = {}
    for path in server.containers():
        try:
            found[path.name] = json.loads((path / "snapshot.json").read_text())
        except (OSError, ValueError):
            continue
    return found


def pooled(server: WardenServer) -> set[str]:
    """Ids of the idle pooled containers, by their snapshots."""
    return {cid for cid, snap in snapshots(server).items() if snap.get("pooled") is True}


def full(server: WardenServer, size: int = 2) -> set[str]:
    """Wait until ``size`` containers are pooled; their ids."""
    wait_for(lambda: len(pooled(server)) == size, what=f"{size} pooled containers")
    return pooled(server)


def container_id(client: Client, handle: str) -> str:
    return os.path.basename(client.info(handle, timeout=30).container_path)


@pytest.fixture
def pool_server(make_server: Callable[..., WardenServer]) -> WardenServer:
    return make_server(server=POOL).start()


def test_a_create_takes_a_pooled_container_that_is_a_real_one(pool_server: WardenServer) -> None:
    ready = full(pool_server)
    with pool_server.client() as client:
        assert list(client.list().handles) == []
        handle = client.create(handle="agent-1", grace_time=60).handle
        assert handle == "agent-1"
        taken = container_id(client, handle)
        assert taken in ready
        info = client.info(handle)
        assert info.state == "active"
        result = client.run(handle, "echo hello; pwd")
        assert result.exit_status == 0
        assert result.stdout.decode().splitlines() == [
            "hello",
            str(pool_server.depot / taken / "root"),
        ]
        snap = snapshots(pool_server)[taken]
        assert "pooled" not in snap
        assert snap["grace_time"] == 60
        assert snap["resources"]["handle"] == "agent-1"  # type: ignore[index]
        # The pool refills, with new containers, and List shows only the named one.
        refilled = full(pool_server)
        assert taken not in refilled and len(refilled - ready) == 1
        assert list(client.list().handles) == ["agent-1"]
        # Without a handle, the container's id is its handle (as on the normal path).
        anonymous = client.create().handle
        assert anonymous in refilled
        assert container_id(client, anonymous) == anonymous
        assert sorted(client.list().handles) == sorted(["agent-1", anonymous])
        client.destroy(handle)
        client.destroy(anonymous)
        assert not (pool_server.depot / taken).exists()


def test_pooled_containers_are_unknown_to_clients(pool_server: WardenServer) -> None:
    ready = full(pool_server)
    with pool_server.client() as client:
        assert list(client.list().handles) == []
        for cid in ready:
            for call in (client.info, client.destroy, client.stop):
                with pytest.raises(ServerError, match=r"^unknown handle$"):
                    call(cid)
    assert pooled(pool_server) == ready


def test_a_handle_in_use_is_refused_and_the_pool_keeps_its_container(
    pool_server: WardenServer,
) -> None:
    ready = full(pool_server)
    with pool_server.client() as client:
        client.create(handle="twice")
        with pytest.raises(ServerError, match="container with handle: twice already exists"):
            client.create(handle="twice")
        assert list(client.list().handles) == ["twice"]
        client.destroy("twice")
    assert len(pooled(pool_server) & ready) == 1  # only the first create took one


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"network": "10.254.0.20"}, id="network"),
        pytest.param({"rootfs": "/srv/another-rootfs"}, id="rootfs"),
        pytest.param({"bind_mounts": True}, id="bind_mounts"),
    ],
)
def test_a_create_with_options_the_pool_cannot_give_takes_the_normal_path(
    make_server: Callable[..., WardenServer], fields: dict[str, object]
) -> None:
    server = make_server(server={"container_pool_size": 1}).start()
    ready = full(server, 1)
    request = CreateRequest(handle="own")
    if "bind_mounts" in fields:
        source = tempfile.mkdtemp(dir=server.base)
        request.bind_mounts.add(src_path=source, dst_path="/mnt/shared", mode=0)
    else:
        for name, field_value in fields.items():
            setattr(request, name, field_value)
    with server.client() as client:
        assert client.call(request, timeout=30).handle == "own"
        made = container_id(client, "own")
        assert made not in ready
        if "network" in fields:
            assert client.info("own").container_ip == "10.254.0.22"
        client.destroy("own")
    assert pooled(server) == ready


def test_the_default_rootfs_named_explicitly_still_takes_from_the_pool(
    make_server: Callable[..., WardenServer],
) -> None:
    server = make_server(server={"container_pool_size": 1}).start()
    ready = full(server, 1)
    rootfs = server.config["server"].get("container_rootfs_path", "/var/lib/warden/rootfs")
    with server.client() as client:
        handle = client.call(CreateRequest(rootfs=rootfs), timeout=30).handle
        assert handle in ready


def test_grace_time_runs_only_once_taken(make_server: Callable[..., WardenServer]) -> None:
    server = make_server(server={**POOL, "container_grace_time": 1}).start()
    ready = full(server)
    client = server.client()
    handle = client.create().handle
    assert handle in ready
    client.disconnect()
    # The taken one goes after its grace time; the one pooled with it, made
    # before it was taken, is still there (pooled containers have no timer).
    wait_for(lambda: not (server.depot / handle).exists(), what="the grace timer")
    (other,) = ready - {handle}
    assert other in pooled(server)
    with server.client() as client:
        assert list(client.list().handles) == []


@pytest.mark.parametrize(
    ("how", "destroy_on_shutdown"),
    [("drain", False), ("kill", True)],
)
def test_a_restart_keeps_the_pool_and_the_named_containers_apart(
    make_server: Callable[..., WardenServer], how: str, destroy_on_shutdown: bool
) -> None:
    server = make_server(
        server={**POOL, "container_pool_destroy_on_shutdown": destroy_on_shutdown}
    ).start()
    full(server)
    with server.client() as client:
        named = container_id(client, client.create(handle="named").handle)
    ready = full(server)
    if how == "drain":
        assert server.drain() == 0
    else:
        server.kill()
    server.start()
    with server.client() as client:
        assert list(client.list().handles) == ["named"]
        assert container_id(client, "named") == named
        assert pooled(server) == ready  # recovered into the pool: the same ones, no more
        handle = client.create().handle
        assert handle in ready
        assert client.run(handle, "true").exit_status == 0
        for cid in ready - {handle}:
            with pytest.raises(ServerError, match=r"^unknown handle$"):
                client.info(cid)


def test_a_smaller_pool_after_a_restart_destroys_the_surplus(
    make_server: Callable[..., WardenServer],
) -> None:
    server = make_server(server={**POOL, "container_pool_destroy_on_shutdown": False}).start()
    ready = full(server)
    assert server.drain() == 0
    server.config["server"]["container_pool_size"] = 1
    server.write_config()
    server.start()
    kept = pooled(server)
    assert len(kept) == 1 and kept < ready
    assert {p.name for p in server.containers()} == kept


@pytest.mark.parametrize("how", ["terminate", "drain"])
def test_a_clean_exit_destroys_the_pooled_containers_when_configured(
    make_server: Callable[..., WardenServer], how: str
) -> None:
    server = make_server(server=POOL).start()
    with server.client() as client:
        named = container_id(client, client.create(handle="named").handle)
    ready = full(server)
    if how == "drain":
        assert server.drain() == 0
    else:
        assert server.process is not None
        server.process.terminate()
        assert server.wait() == 0
    assert {p.name for p in server.containers()} == {named}
    server.start()
    with server.client() as client:
        assert list(client.list().handles) == ["named"]
    assert not (full(server) & ready)  # a new pool


def test_a_pool_of_size_zero_makes_nothing_in_advance(
    make_server: Callable[..., WardenServer],
) -> None:
    port = free_port()
    server = make_server(health_check_server={"port": port}).start()
    assert server.containers() == []
    samples = scrape(port)
    assert samples[("warden_warm_pool_target", ())] == 0
    assert samples[("warden_warm_pool_idle", ())] == 0
    with server.client() as client:
        handle = client.create().handle
        assert [p.name for p in server.containers()] == [handle]
        assert "pooled" not in snapshots(server)[handle]
        client.destroy(handle)
    assert server.containers() == []


def test_the_metrics_show_the_pool(make_server: Callable[..., WardenServer]) -> None:
    port = free_port()
    server = make_server(server=POOL, health_check_server={"port": port}).start()
    full(server)
    samples = scrape(port)
    assert value(samples, "warden_warm_pool_idle") == 2
    assert value(samples, "warden_warm_pool_target") == 2
    assert value(samples, "warden_containers", state="active") == 0  # pooled ones are not
