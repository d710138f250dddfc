# -*- test-case-name: tests.test_metrics -*-
"""Prometheus metrics, served at ``/metrics`` on the health-check port.

Each server has a registry of its own (several servers may share a process in
tests). The request counts and durations, bumped on every request (a Ping's
included), are plain ints and floats kept by the reactor's thread, with no
lock and no prometheus_client object per request: a collector turns them into
the counter and the histogram at scrape time (the same names, labels and
values as prometheus_client's own ``Counter`` and ``Histogram``). What can be
read off the server's state (containers by state, running jobs, pool usage)
is computed at scrape time too and costs nothing between scrapes.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from typing import Final, Protocol

from google.protobuf.message import Message
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import metrics as _prometheus_metrics
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import INF, floatToGoString

from warden.protocol import type_name

__all__ = ["CONTENT_TYPE", "ERROR", "OK", "Metrics", "PoolLike", "ServerState"]

#: The text exposition format's content type.
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"

#: Request outcomes: a response, an error response.
OK: Final = "ok"
ERROR: Final = "error"

#: Seconds; from a ping (tens of microseconds) to a slow create or a long Run.
_BUCKETS: Final = (
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0,
)  # fmt: skip
#: The buckets' upper bounds, +Inf last, as ``Histogram`` keeps them.
_BOUNDS: Final = (*_BUCKETS, INF)
#: Their ``le`` labels, formatted as ``Histogram`` formats them.
_BUCKET_LABELS: Final = tuple(floatToGoString(b) for b in _BOUNDS)  # type: ignore[no-untyped-call]


class PoolLike(Protocol):
    """What the collector reads of a pool."""

    @property
    def size(self) -> int: ...

    def __len__(self) -> int: ...


class ServerState(Protocol):
    """What the collector reads of the server at scrape time."""

    def container_states(self) -> Iterable[str]:
        """The state name of each live container."""
        ...

    def running_jobs(self) -> int:
        """Jobs not yet ended, over all containers."""
        ...

    def pools(self) -> Mapping[str, PoolLike]:
        """The server's pools by name."""
        ...

    def warm_pool_sizes(self) -> tuple[int, int]:
        """The warm pool's idle containers and its configured size."""
        ...


class _StateCollector(Collector):
    def __init__(self, state: ServerState, state_names: Iterable[str]) -> None:
        self._state = state
        self._state_names = tuple(state_names)

    def collect(self) -> Iterator[Metric]:
        containers = GaugeMetricFamily(
            "warden_containers", "Live containers by state.", labels=["state"]
        )
        counts = dict.fromkeys(self._state_names, 0)
        for name in self._state.container_states():
            counts[name] = counts.get(name, 0) + 1
        for name, count in counts.items():
            containers.add_metric([name], count)
        yield containers
        yield GaugeMetricFamily(
            "warden_jobs_running", "Jobs that have not ended yet.", value=self._state.running_jobs()
        )
        size = GaugeMetricFamily(
            "warden_pool_size", "Entries of each pool (networks, uids, ports).", labels=["pool"]
        )
        used = GaugeMetricFamily(
            "warden_pool_in_use", "Entries of each pool held by containers.", labels=["pool"]
        )
        for name, pool in self._state.pools().items():
            size.add_metric([name], pool.size)
            used.add_metric([name], pool.size - len(pool))
        yield size
        yield used
        idle, target = self._state.warm_pool_sizes()
        yield GaugeMetricFamily(
            "warden_warm_pool_idle", "Idle containers in the warm pool.", value=idle
        )
        yield GaugeMetricFamily(
            "warden_warm_pool_target",
            "Idle containers the warm pool keeps (server.container_pool_size).",
            value=target,
        )


class _Durations:
    """One request type's histogram: a count per bucket (not cumulative), the sum."""

    __slots__ = ("buckets", "created", "sum")

    def __init__(self) -> None:
        self.buckets = [0] * len(_BOUNDS)
        self.sum = 0.0
        self.created = time.time()


class _RequestCollector(Collector):
    """``warden_requests`` and ``warden_request_duration_seconds`` from plain numbers.

    Written only by the reactor's thread; a scrape (on the reactor too) reads
    them. Series appear in the order their first request came, as a
    ``Counter``'s and a ``Histogram``'s children do.
    """

    def __init__(self) -> None:
        #: (type name, outcome) -> [requests, created]
        self.counts: dict[tuple[str, str], list[float]] = {}
        self.durations: dict[str, _Durations] = {}

    def collect(self) -> Iterator[Metric]:
        created = getattr(_prometheus_metrics, "_use_created", True)
        requests = CounterMetricFamily(
            "warden_requests", "Requests served, by type and outcome (ok or error).",
            labels=["type", "outcome"],
        )  # fmt: skip
        for (name, outcome), (count, since) in list(self.counts.items()):
            requests.add_metric([name, outcome], count, created=since if created else None)
        yield requests
        seconds = HistogramMetricFamily(
            "warden_request_duration_seconds", "Time from a request's start to its response.",
            labels=["type"],
        )  # fmt: skip
        for name, durations in list(self.durations.items()):
            total = 0.0
            buckets = []
            for label, count in zip(_BUCKET_LABELS, durations.buckets, strict=True):
                total += count
                buckets.append((label, total))
            seconds.add_metric([name], buckets, durations.sum)
            if created:
                seconds.add_sample(
                    "warden_request_duration_seconds_created", {"type": name}, durations.created
                )
        yield seconds


class Metrics:
    """The server's metrics and the registry that exposes them."""

    def __init__(self, state: ServerState, state_names: Iterable[str]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._requests = _RequestCollector()
        self.registry.register(self._requests)
        #: Request class and outcome -> its count (a list, bumped in place)
        #: and its type's durations: one dict look-up per request.
        self._series: dict[tuple[type, str], tuple[list[float], _Durations]] = {}
        self.create_seconds = Histogram(
            "warden_container_create_duration_seconds", "Successful creates, start to response.",
            buckets=_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.destroy_seconds = Histogram(
            "warden_container_destroy_duration_seconds",
            "Successful destroy requests, start to response.",
            buckets=_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.oom_events = Counter(
            "warden_oom_events", "Times the OOM killer acted in a container.",
            registry=self.registry,
        )  # fmt: skip
        self.registry.register(_StateCollector(state, state_names))

    def request_served(self, kind: type[Message], outcome: str, started: float) -> None:
        """Count one request of class ``kind`` begun at ``started`` (``time.perf_counter``)."""
        elapsed = time.perf_counter() - started
        series = self._series.get((kind, outcome))
        if series is None:
            series = self._new_series(kind, outcome)
        count, durations = series
        count[0] += 1
        # A Histogram's bucket: the first bound the value does not exceed.
        durations.buckets[bisect_left(_BOUNDS, elapsed)] += 1
        durations.sum += elapsed

    def _new_series(self, kind: type[Message], outcome: str) -> tuple[list[float], _Durations]:
        name = type_name(kind)
        collector = self._requests
        count = collector.counts.setdefault((name, outcome), [0, time.time()])
        durations = collector.durations.get(name)
        if durations is None:
            durations = collector.durations[name] = _Durations()
        series = self._series[kind, outcome] = (count, durations)
        return series

    def count_oom(self) -> None:
        """The OOM killer acted in a container."""
        self.oom_events.inc()

    def exposition(self) -> bytes:
        """Every metric in the text format, for a scrape."""
        return generate_latest(self.registry)
