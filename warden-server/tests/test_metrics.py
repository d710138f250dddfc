"""Prometheus metrics at /metrics on the health-check port, beside the unchanged health check."""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Callable

import pytest
from conftest import WardenServer
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.testing import StringTransport

from warden.client import ServerError
from warden.protocol import CreateRequest, DestroyRequest, PingRequest
from warden.server._health import HealthCheckFactory
from warden.server._metrics import _BUCKETS, ERROR, OK, Metrics


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = answer.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_the_numbers_move_with_containers_jobs_and_requests(
    make_server: Callable[..., WardenServer],
) -> None:
    port = free_port()
    server = make_server(health_check_server={"port": port}).start()
    before = scrape(port)
    assert value(before, "warden_containers", state="active") == 0
    assert value(before, "warden_pool_size", pool="uid") == 64
    assert value(before, "warden_pool_in_use", pool="uid") == 0
    with server.client() as client:
        handles = [client.create().handle for _ in range(3)]
        client.spawn(handles[0], "sleep 600")
        client.destroy(handles[2])
        with pytest.raises(ServerError):
            client.destroy("no-such-handle")
        after = scrape(port)
        assert value(after, "warden_containers", state="active") == 2
        assert value(after, "warden_jobs_running") == 1
        assert value(after, "warden_pool_in_use", pool="uid") == 2
        assert value(after, "warden_requests_total", type="Create", outcome="ok") == 3
        assert value(after, "warden_requests_total", type="Spawn", outcome="ok") == 1
        assert value(after, "warden_requests_total", type="Destroy", outcome="ok") == 1
        assert value(after, "warden_requests_total", type="Destroy", outcome="error") == 1
        assert value(after, "warden_request_duration_seconds_count", type="Create") == 3
        assert value(after, "warden_request_duration_seconds_sum", type="Create") > 0
        assert value(after, "warden_container_create_duration_seconds_count") == 3
        assert value(after, "warden_container_destroy_duration_seconds_count") == 1
        assert value(after, "warden_oom_events_total") == 0
        # A lone Ping takes the server's shortcut; it is counted all the same.
        client.ping()
        client.ping()
        pings = value(scrape(port), "warden_requests_total", type="Ping", outcome="ok")
        assert pings == value(after, "warden_requests_total", type="Ping", outcome="ok") + 2
        for handle in handles[:2]:
            client.destroy(handle)
    # The health check answers as it always did.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as health:
        health.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert health.makefile("rb").read() == b"HTTP/1.1 200 OK\r\n"


def test_a_request_line_in_pieces_still_gets_the_metrics() -> None:
    factory = HealthCheckFactory(lambda: b"warden_x 1\n", "text/plain")
    check = factory.buildProtocol(None)
    transport = StringTransport()
    check.makeConnection(transport)
    check.dataReceived(b"GET /met")
    assert transport.value() == b""
    check.dataReceived(b"rics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert transport.value() == (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
        b"Connection: close\r\n\r\nwarden_x 1\n"
    )
    assert transport.disconnecting


def test_anything_else_gets_the_bare_status_line() -> None:
    for data in (b"x", b"GET /metricsfoo HTTP/1.1\r\n", b"POST /metrics HTTP/1.1\r\n"):
        check = HealthCheckFactory(lambda: b"never\n").buildProtocol(None)
        transport = StringTransport()
        check.makeConnection(transport)
        check.dataReceived(data)
        assert transport.value() == b"HTTP/1.1 200 OK\r\n", data


class NoServer:
    def container_states(self) -> list[str]:
        return ["active"]

    def running_jobs(self) -> int:
        return 0

    def pools(self) -> dict[str, object]:
        return {}

    def warm_pool_sizes(self) -> tuple[int, int]:
        return 0, 0


def test_each_server_has_its_own_registry() -> None:
    first, second = Metrics(NoServer(), ["active"]), Metrics(NoServer(), ["active"])  # type: ignore[arg-type]
    first.request_served(PingRequest, OK, 0.0)
    assert b'warden_requests_total{outcome="ok",type="Ping"} 1.0' in first.exposition()
    assert b"warden_requests_total{" not in second.exposition()


def test_request_series_are_what_prometheus_clients_own_would_expose() -> None:
    ours = Metrics(NoServer(), ["active"])  # type: ignore[arg-type]
    registry = CollectorRegistry(auto_describe=False)
    counter = Counter("warden_requests", "Requests served, by type and outcome (ok or error).",
                      ["type", "outcome"], registry=registry)  # fmt: skip
    histogram = Histogram("warden_request_duration_seconds",
                          "Time from a request's start to its response.", ["type"],
                          buckets=_BUCKETS, registry=registry)  # fmt: skip
    # Seconds in the middle of buckets (the clock moves a little meanwhile),
    # one past the last bound.
    served = [
        (PingRequest, OK, 0.00003), (CreateRequest, ERROR, 0.3), (PingRequest, OK, 0.0007),
        (CreateRequest, OK, 4.0), (DestroyRequest, OK, 400.0), (PingRequest, OK, 0.02),
    ]  # fmt: skip
    for kind, outcome, seconds in served:
        ours.request_served(kind, outcome, time.perf_counter() - seconds)
        name = kind.__name__.removesuffix("Request")
        counter.labels(name, outcome).inc()
        histogram.labels(name).observe(seconds)

    def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
        # The text format gives each _created series a family of its own.
        families = ("warden_requests", "warden_request_duration_seconds")
        created = tuple(f"{name}_created" for name in families)
        return [
            (s.name, s.labels, 0.0 if family.name in created else round(s.value, 2))
            for family in text_string_to_metric_families(text)
            if family.name in families + created
            for s in family.samples
        ]

    expected = samples(generate_latest(registry).decode())
    # Four counters and three histograms (buckets, +Inf, count, sum), each created.
    assert len(expected) == 4 * 2 + 3 * (len(_BUCKETS) + 4)
    assert samples(ours.exposition().decode()) == expected
