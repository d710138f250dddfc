"""The container state machine on fake scripts: born -> active -> stopped -> destroyed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from twisted.internet import defer

from warden.protocol import (
    CopyOutRequest,
    CreateRequest,
    DestroyRequest,
    InfoRequest,
    InfoResponse,
    NetInRequest,
    SpawnRequest,
    StopRequest,
)
from warden.server import StateError, WardenError
from warden.server.container._context import ContainerContext
from warden.server.container.base import State
from warden.server.container.insecure import InsecureContainer

from ._fakes import RecordingScripts, result_of


def created(context: ContainerContext, **fields: object) -> InsecureContainer:
    container = InsecureContainer(context)
    result_of(container.dispatch(CreateRequest(**fields)))  # type: ignore[arg-type]
    return container


def snapshot_of(container: InsecureContainer) -> dict[str, object]:
    text = Path(container.container_path, "snapshot.json").read_text()
    data: dict[str, object] = json.loads(text)
    return data


def test_create_makes_an_active_registered_container(
    context: ContainerContext, scripts: RecordingScripts
) -> None:
    container = created(context, handle="one")
    assert container.state is State.ACTIVE
    assert scripts.names() == ["create.sh"]
    assert scripts.calls[0][1] == container.container_path
    assert context.registry.get("one") is container
    assert snapshot_of(container)["state"] == "active"
    info = result_of(container.dispatch(InfoRequest(handle="one")))
    assert isinstance(info, InfoResponse)
    assert info.state == "active" and info.container_path == container.container_path


def test_stop_then_destroy_leaves_nothing(
    context: ContainerContext, scripts: RecordingScripts
) -> None:
    free_networks, free_uids = len(context.network_pool), len(context.uid_pool)
    container = created(context, handle="one")
    assert (len(context.network_pool), len(context.uid_pool)) == (free_networks - 1, free_uids - 1)

    result_of(container.dispatch(StopRequest(handle="one", kill=True)))
    assert container.state is State.STOPPED
    assert scripts.calls[-1][-2:] == ("-w", "0")  # kill: no wait before KILL
    assert snapshot_of(container)["state"] == "stopped"
    result_of(container.dispatch(StopRequest(handle="one")))  # a second stop does nothing
    assert scripts.names() == ["create.sh", "stop.sh"]

    result_of(container.dispatch(DestroyRequest(handle="one")))
    assert container.state is State.DESTROYED
    assert scripts.names() == ["create.sh", "stop.sh", "destroy.sh"]
    assert not os.path.exists(container.container_path)
    assert context.registry.handles() == []
    assert (len(context.network_pool), len(context.uid_pool)) == (free_networks, free_uids)


def test_destroy_of_an_active_container_stops_it_first(
    context: ContainerContext, scripts: RecordingScripts
) -> None:
    container = created(context)
    result_of(container.dispatch(DestroyRequest(handle=container.handle)))
    assert scripts.names() == ["create.sh", "stop.sh", "destroy.sh"]
    assert container.obituary is not None and container.obituary.state == "active"


@pytest.mark.parametrize(
    ("state", "request_", "message"),
    [
        ("active", CreateRequest(),
         "Container state must be one of 'born', current state is 'active'"),
        ("stopped", SpawnRequest(handle="h", script="true"),
         "Container state must be one of 'active', current state is 'stopped'"),
        ("stopped", NetInRequest(handle="h"),
         "Container state must be one of 'active', current state is 'stopped'"),
        ("destroyed", InfoRequest(handle="h"),
         "Container state must be one of 'active, stopped', current state is 'destroyed'"),
        ("destroyed", StopRequest(handle="h"),
         "Container state must be one of 'active, stopped', current state is 'destroyed'"),
        ("destroyed", CopyOutRequest(handle="h", src_path="/a", dst_path="/b"),
         "Container state must be one of 'active, stopped', current state is 'destroyed'"),
    ],
)  # fmt: skip
def test_requests_in_the_wrong_state_get_the_originals_error(
    context: ContainerContext, scripts: RecordingScripts, state: str, request_: object, message: str
) -> None:
    container = created(context, handle="h")
    if state in ("stopped", "destroyed"):
        result_of(container.dispatch(StopRequest(handle="h")))
    if state == "destroyed":
        result_of(container.dispatch(DestroyRequest(handle="h")))
    before = list(scripts.calls)
    with pytest.raises(StateError) as caught:
        result_of(container.dispatch(request_))  # type: ignore[arg-type]
    assert caught.value.message == message
    assert scripts.calls == before  # refused before any script ran
    assert container.state.value == state


def test_copy_out_is_allowed_when_stopped(
    context: ContainerContext, scripts: RecordingScripts
) -> None:
    container = created(context, handle="h")
    result_of(container.dispatch(StopRequest(handle="h")))
    result_of(container.dispatch(CopyOutRequest(handle="h", src_path="/a", dst_path="/b")))
    assert scripts.calls[-1][1:] == ("out", container.container_path, "/a", "/b")


def test_destroy_twice_is_harmless(context: ContainerContext, scripts: RecordingScripts) -> None:
    container = created(context, handle="h")
    result_of(container.dispatch(DestroyRequest(handle="h")))
    result_of(container.dispatch(DestroyRequest(handle="h")))
    assert container.state is State.DESTROYED
    assert context.registry.handles() == []


def test_a_failed_create_cleans_up_and_reports_the_error(
    context: ContainerContext, scripts: RecordingScripts
) -> None:
    free_networks, free_uids = len(context.network_pool), len(context.uid_pool)
    scripts.failing.add("create.sh")
    container = InsecureContainer(context)
    with pytest.raises(WardenError) as caught:
        result_of(container.dispatch(CreateRequest(handle="h")))
    assert caught.value.message == "command exited with failure"
    # The half-made container went through destroy (no stop: it never started).
    assert scripts.names() == ["create.sh", "destroy.sh"]
    assert not os.path.exists(container.container_path)
    assert os.listdir(context.depot_path) == []
    assert context.registry.handles() == []
    assert (len(context.network_pool), len(context.uid_pool)) == (free_networks, free_uids)
    scripts.failing.clear()
    assert created(context, handle="h").state is State.ACTIVE  # the handle is free again


def test_a_taken_handle_is_refused_before_any_script(
    context: ContainerContext, scripts: RecordingScripts
) -> None:
    created(context, handle="h")
    free_networks = len(context.network_pool)
    with pytest.raises(WardenError, match=r"container with handle: h already exists\."):
        result_of(InsecureContainer(context).dispatch(CreateRequest(handle="h")))
    assert scripts.names() == ["create.sh"]
    assert len(context.network_pool) == free_networks


def test_an_exhausted_pool_fails_create_and_frees_what_it_took(
    context: ContainerContext, scripts: RecordingScripts
) -> None:
    created(context)
    created(context)  # the /29 holds two /30s, the uid pool two uids
    with pytest.raises(WardenError, match="no network available"):
        result_of(InsecureContainer(context).dispatch(CreateRequest(handle="third")))
    assert scripts.names() == ["create.sh", "create.sh"]
    with pytest.raises(WardenError, match="unknown handle"):
        context.registry.get("third")
    context.registry.reserve("third")  # the reservation was given back


class FinishingLater(InsecureContainer):
    """A backend whose destroy answers before its last part (as Linux's)."""

    rest: defer.Deferred[None]

    async def begin_destroy(self) -> defer.Deferred[None]:
        await self.do_destroy()
        self.rest = defer.Deferred()
        return self.rest


def test_the_pools_get_a_destroyed_containers_resources_once_its_destroy_finished(
    context: ContainerContext, scripts: RecordingScripts
) -> None:
    free_networks, free_uids = len(context.network_pool), len(context.uid_pool)
    container = FinishingLater(context)
    result_of(container.dispatch(CreateRequest(handle="one")))
    port = container.acquire_port()
    result_of(container.dispatch(DestroyRequest(handle="one")))
    # Answered: gone from the registry, its handle free, its subnet, port and
    # uid still taken while the rest of it goes.
    assert container.state is State.DESTROYED
    assert context.registry.handles() == []
    context.registry.reserve("one")
    context.registry.release("one")
    assert (len(context.network_pool), len(context.uid_pool)) == (free_networks - 1, free_uids - 1)
    assert port not in context.port_pool
    assert context.finishing_destroys == {container.rest}
    container.rest.callback(None)
    assert (len(context.network_pool), len(context.uid_pool)) == (free_networks, free_uids)
    assert port in context.port_pool
    assert context.finishing_destroys == set()


def test_a_create_waits_for_a_finishing_destroy_when_a_pool_is_empty(
    context: ContainerContext, scripts: RecordingScripts
) -> None:
    """A platform replacing a container at full pool: destroy, then create at
    once. The create waits for what the destroy still holds, then takes it."""
    created(context, handle="other")
    old = FinishingLater(context)
    result_of(old.dispatch(CreateRequest(handle="old")))  # the /29's last /30
    old_network, old_uid = old.network, old.uid
    result_of(old.dispatch(DestroyRequest(handle="old")))
    new = InsecureContainer(context)
    creating = defer.ensureDeferred(new.dispatch(CreateRequest(handle="old")))
    assert not creating.called  # waiting, not failed
    assert scripts.names().count("create.sh") == 2
    old.rest.callback(None)
    assert result_of(creating).handle == "old"
    assert (new.network, new.uid) == (old_network, old_uid)
    assert context.registry.get("old") is new
    assert len(context.network_pool) == 0


def test_a_create_for_the_subnet_of_a_finishing_destroy_waits_for_it(
    context: ContainerContext, scripts: RecordingScripts
) -> None:
    old = FinishingLater(context)
    result_of(old.dispatch(CreateRequest(handle="old")))
    subnet = old.network
    result_of(old.dispatch(DestroyRequest(handle="old")))
    new = InsecureContainer(context)
    creating = defer.ensureDeferred(new.dispatch(CreateRequest(handle="new", network=subnet)))
    assert not creating.called
    old.rest.callback(None)
    assert result_of(creating).handle == "new"
    assert new.network == subnet


def test_an_empty_pool_fails_at_once_when_no_destroy_is_finishing(
    context: ContainerContext, scripts: RecordingScripts
) -> None:
    created(context)
    old = FinishingLater(context)
    result_of(old.dispatch(CreateRequest(handle="old")))
    result_of(old.dispatch(DestroyRequest(handle="old")))
    old.rest.errback(WardenError("cannot remove the cgroups"))  # its resources stay taken
    with pytest.raises(WardenError, match="no network available"):
        result_of(InsecureContainer(context).dispatch(CreateRequest(handle="third")))
    context.registry.reserve("third")  # the reservation was given back


def test_a_destroy_that_does_not_finish_keeps_the_resources(
    context: ContainerContext, scripts: RecordingScripts
) -> None:
    free_networks = len(context.network_pool)
    container = FinishingLater(context)
    result_of(container.dispatch(CreateRequest(handle="one")))
    result_of(container.dispatch(DestroyRequest(handle="one")))
    container.rest.errback(WardenError("cannot remove the cgroups"))
    # Left for the next start, which removes what is left: never handed out
    # while something of the old container may still use them.
    assert len(context.network_pool) == free_networks - 1
    assert context.finishing_destroys == set()
    assert container.destroy_finished.called
