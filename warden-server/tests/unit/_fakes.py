"""Fakes for the unit layer: no root, no processes, no real reactor.

``RecordingScripts`` stands in for the script funnel (``_scripts.run_script``):
it records every argv, plays what the insecure scripts would do to the
container's directory, and answers success, failure, or a Deferred the test
fires later. ``make_context`` builds a ``ContainerContext`` around it and a
``twisted.internet.task.Clock``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from warden.protocol import MessageDecoder
from warden.server._config import Config, parse_config
from warden.server._job_ids import JobIdCounter
from warden.server._jobs import JobServices
from warden.server._pools import NetworkPool, PortPool, UidPool
from warden.server._scripts import DEFAULT_MAX_OUTPUT, ScriptError, ScriptResult
from warden.server.container._context import ContainerContext, ContainerIds, Registry

T = TypeVar("T")


class RecordingScripts:
    """A script runner that runs nothing; see the module docstring."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        #: Script names (``create.sh``) that exit 1.
        self.failing: set[str] = set()
        #: Script names whose Deferred waits in ``waiting`` for the test to fire it.
        self.held: set[str] = set()
        self.waiting: list[tuple[tuple[str, ...], defer.Deferred[ScriptResult]]] = []

    def __call__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, object] | None = None,
        stdin: bytes | None = None,
        max_output: int = DEFAULT_MAX_OUTPUT,
        check: bool = True,
        reactor: Any = None,
    ) -> defer.Deferred[ScriptResult]:
        call = tuple(argv)
        self.calls.append(call)
        name = os.path.basename(call[0])
        if name in self.held:
            waiting: defer.Deferred[ScriptResult] = defer.Deferred()
            self.waiting.append((call, waiting))
            return waiting
        return self.finish(call, check=check)

    def finish(self, call: tuple[str, ...], *, check: bool = True) -> defer.Deferred[ScriptResult]:
        """Play the script's effect and answer as configured."""
        name = os.path.basename(call[0])
        path = Path(call[1]) if len(call) > 1 else None
        if name == "create.sh" and path is not None:
            (path / "root").mkdir(parents=True)  # even a failing create leaves a half-made one
        elif name == "destroy.sh" and path is not None:
            shutil.rmtree(path, ignore_errors=True)
        result = ScriptResult(call, 1 if name in self.failing else 0, b"", b"")
        if check and not result.ok:
            return defer.fail(ScriptError("command exited with failure", result))
        return defer.succeed(result)

    def release(self) -> None:
        """Let the held scripts end (as configured)."""
        waiting, self.waiting = self.waiting, []
        for call, held in waiting:
            self.finish(call).chainDeferred(held)

    def names(self) -> list[str]:
        """The scripts called so far, by file name."""
        return [os.path.basename(call[0]) for call in self.calls]


def unit_config(tmp_path: Path, **server: Any) -> Config:
    """The insecure backend with a depot under ``tmp_path``; ``server`` keys override."""
    return parse_config(
        {
            "server": {
                "container_klass": "insecure",
                "container_depot_path": str(tmp_path / "depot"),
                "container_grace_time": 30,
                **server,
            },
            "port": {"pool_start_port": 40000, "pool_size": 1000},
            "network": {"pool_network": "10.253.0.0/29", "release_delay": 0},
            "user": {"pool_start_uid": 70000, "pool_size": 2},
        }
    )


def make_context(config: Config, clock: Clock, scripts: RecordingScripts) -> ContainerContext:
    """A container context on a fake clock and fake scripts (jobs are not served)."""
    depot = config.server.container_depot_path
    return ContainerContext(
        reactor=clock,
        config=config,
        network_pool=NetworkPool(config.network.pool_network, release_delay=0, clock=clock.seconds),
        port_pool=PortPool(config.port.pool_start_port, config.port.pool_size),
        uid_pool=UidPool(config.user.pool_start_uid, config.user.pool_size),
        registry=Registry(),
        container_ids=ContainerIds(start=1),
        job_ids=JobIdCounter(os.path.join(depot, ".job-id")),
        jobs=cast(JobServices, None),
        run_script=scripts,
    )


def result_of(work: Coroutine[Any, Any, T] | defer.Deferred[T]) -> T:
    """The result of work that must have finished already (it raises its error)."""
    d = defer.ensureDeferred(work) if not isinstance(work, defer.Deferred) else work
    outcome: list[Any] = []
    d.addBoth(outcome.append)
    assert outcome, "the work has not finished"
    if isinstance(outcome[0], Failure):
        outcome[0].raiseException()
    return cast(T, outcome[0])


def responses(data: bytes) -> list[Any]:
    """Every response frame in ``data`` (what a StringTransport received)."""
    decoder = MessageDecoder("response")
    decoder.feed(data)
    return list(decoder)
