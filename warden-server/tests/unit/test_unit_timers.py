"""The grace timer and the snapshot retry on a fake clock (``twisted.internet.task.Clock``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from twisted.internet.task import Clock

from warden.protocol import CreateRequest, DestroyRequest, NetInRequest, NetInResponse
from warden.server.container._context import ContainerContext
from warden.server.container.base import SNAPSHOT_AFTER_JOB_END, SNAPSHOT_RETRY, State
from warden.server.container.insecure import InsecureContainer

from ._fakes import RecordingScripts, make_context, result_of, unit_config


class Peer:
    """A connection as a container sees it (only its identity matters here)."""

    def send(self, message: Any) -> None:
        raise AssertionError("nothing is sent to a peer here")

    def when_lost(self) -> Any:
        raise AssertionError("nothing waits for a peer here")

    def register_producer(self, producer: Any) -> None:
        raise AssertionError("nothing is streamed to a peer here")

    def unregister_producer(self) -> None:
        raise AssertionError("nothing is streamed to a peer here")


def created(context: ContainerContext, **fields: Any) -> InsecureContainer:
    container = InsecureContainer(context)
    result_of(container.dispatch(CreateRequest(**fields)))
    return container


# -- grace timer --


def test_grace_timer_destroys_after_the_last_peer_leaves(
    context: ContainerContext, clock: Clock, scripts: RecordingScripts
) -> None:
    container = created(context)
    first, second = Peer(), Peer()
    container.reference(first)
    container.reference(second)
    container.unreference(first)
    assert clock.getDelayedCalls() == []  # one peer is still there
    container.unreference(second)
    clock.advance(29.9)
    assert container.state is State.ACTIVE
    clock.advance(0.1)
    assert container.state is State.DESTROYED
    assert scripts.names() == ["create.sh", "stop.sh", "destroy.sh"]
    assert context.registry.handles() == []


def test_a_new_reference_cancels_the_grace_timer(
    context: ContainerContext, clock: Clock, scripts: RecordingScripts
) -> None:
    container = created(context)
    peer = Peer()
    container.arm_grace_timer()
    clock.advance(20)
    container.reference(peer)
    assert clock.getDelayedCalls() == []
    clock.advance(100)
    assert container.state is State.ACTIVE
    container.unreference(peer)  # the full grace time again, from now
    clock.advance(29)
    assert container.state is State.ACTIVE
    clock.advance(1)
    assert container.state is State.DESTROYED


def test_the_create_requests_grace_time_wins(context: ContainerContext, clock: Clock) -> None:
    container = created(context, grace_time=5)
    container.arm_grace_timer()
    clock.advance(5)
    assert container.state is State.DESTROYED


def test_no_grace_time_means_never(tmp_path: Path, clock: Clock) -> None:
    scripts = RecordingScripts()
    context = make_context(unit_config(tmp_path, container_grace_time=None), clock, scripts)
    container = created(context)
    container.arm_grace_timer()
    assert clock.getDelayedCalls() == []
    clock.advance(10**6)
    assert container.state is State.ACTIVE


def test_a_destroyed_container_arms_no_timer(context: ContainerContext, clock: Clock) -> None:
    container = created(context)
    container.arm_grace_timer()
    result_of(container.dispatch(DestroyRequest(handle=container.handle)))
    assert clock.getDelayedCalls() == []
    container.arm_grace_timer()
    assert clock.getDelayedCalls() == []


# -- snapshot retry --


def break_snapshots(container: InsecureContainer) -> Path:
    """Make the snapshot unwritable: its temporary folder becomes a file."""
    tmp = Path(container.container_path, "tmp")
    shutil.rmtree(tmp)
    tmp.write_text("in the way")
    return tmp


def test_an_unwritable_snapshot_is_retried_until_written(
    context: ContainerContext, clock: Clock
) -> None:
    container = created(context)
    snapshot = Path(container.container_path, "snapshot.json")
    blocker = break_snapshots(container)

    response = result_of(container.dispatch(NetInRequest(handle=container.handle)))
    assert isinstance(response, NetInResponse)  # the change stands
    assert not snapshot.exists()  # deleted before the change, not yet written again
    assert [call.getTime() for call in clock.getDelayedCalls()] == [SNAPSHOT_RETRY]

    clock.advance(SNAPSHOT_RETRY)  # still failing: tried again later, once
    assert not snapshot.exists()
    assert [call.getTime() for call in clock.getDelayedCalls()] == [2 * SNAPSHOT_RETRY]

    blocker.unlink()
    clock.advance(SNAPSHOT_RETRY)
    assert json.loads(snapshot.read_text())["resources"]["ports"] == [response.host_port]
    assert clock.getDelayedCalls() == []


def test_destroy_cancels_a_pending_snapshot_retry(context: ContainerContext, clock: Clock) -> None:
    container = created(context)
    break_snapshots(container)
    result_of(container.dispatch(NetInRequest(handle=container.handle)))
    assert len(clock.getDelayedCalls()) == 1
    result_of(container.dispatch(DestroyRequest(handle=container.handle)))
    assert clock.getDelayedCalls() == []
    assert not Path(container.container_path).exists()


# -- the snapshot after a job's end --


def events_in_snapshot(container: InsecureContainer) -> list[str]:
    text = Path(container.container_path, "snapshot.json").read_text()
    return list(json.loads(text)["events"])


def end_a_job(container: InsecureContainer) -> None:
    """A change only a snapshot write shows (an event), then a job's end."""
    container.events["marker"] = None
    container._job_finished(SimpleNamespace(job_id=1, status=0, recorded=True))  # type: ignore[arg-type]


def test_a_job_end_is_written_a_moment_later(context: ContainerContext, clock: Clock) -> None:
    container = created(context)
    end_a_job(container)
    end_a_job(container)  # one write for both
    assert events_in_snapshot(container) == []
    assert [call.getTime() for call in clock.getDelayedCalls()] == [SNAPSHOT_AFTER_JOB_END]
    clock.advance(SNAPSHOT_AFTER_JOB_END)
    assert events_in_snapshot(container) == ["marker"]
    assert clock.getDelayedCalls() == []


def test_the_end_of_a_job_no_snapshot_listed_is_not_written(
    context: ContainerContext, clock: Clock
) -> None:
    # A Run's job, answered at its end (and forgotten): the snapshot never had it.
    container = created(context)
    container._job_finished(SimpleNamespace(job_id=1, status=0, recorded=False))  # type: ignore[arg-type]
    assert clock.getDelayedCalls() == []


def test_a_request_writes_a_job_end_along(context: ContainerContext, clock: Clock) -> None:
    container = created(context)
    end_a_job(container)
    result_of(container.dispatch(NetInRequest(handle=container.handle)))
    assert events_in_snapshot(container) == ["marker"]
    assert clock.getDelayedCalls() == []  # nothing left to write


def test_a_flush_writes_a_job_end_at_once(context: ContainerContext, clock: Clock) -> None:
    container = created(context)
    end_a_job(container)
    container.flush_snapshot()
    assert events_in_snapshot(container) == ["marker"]
    assert clock.getDelayedCalls() == []


def test_destroy_cancels_a_job_end_write(context: ContainerContext, clock: Clock) -> None:
    container = created(context)
    end_a_job(container)
    result_of(container.dispatch(DestroyRequest(handle=container.handle)))
    assert clock.getDelayedCalls() == []
    assert not Path(container.container_path).exists()
