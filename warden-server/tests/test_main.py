"""The process: configuration errors, socket mode, pidfile, health check, logs, syslog."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import WardenServer, wait_for

from warden.client import Client
from warden.server.testing import SERVER_BIN


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    "overrides, named",
    [
        ({"server": {"container_grace_time": 2.5}}, "server.container_grace_time"),
        ({"server": {"container_klass": "Warden::Container::Nope"}}, "server.container_klass"),
        ({"user": {"pool_start_uid": 0, "pool_size": 2}}, "UID in user pool overlaps"),
    ],
)
def test_an_invalid_configuration_stops_the_server_at_start(
    make_server: Callable[..., WardenServer], overrides: dict[str, object], named: str
) -> None:
    server = make_server(**overrides)
    done = subprocess.run(
        [str(SERVER_BIN), "--config", str(server.config_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert named in done.stderr
    assert not os.path.exists(server.socket_path)


def test_socket_mode_pidfile_and_health_check(make_server: Callable[..., WardenServer]) -> None:
    port = free_port()
    pidfile = "/tmp/" + os.path.basename(str(make_server.__name__)) + f"-{os.getpid()}-{port}.pid"
    server = make_server(
        server={"unix_domain_permissions": 0o700, "pidfile": pidfile},
        health_check_server={"port": port},
    )
    server.start()
    try:
        assert stat.S_IMODE(os.stat(server.socket_path).st_mode) == 0o700
        wait_for(lambda: os.path.exists(pidfile), what="the pidfile")
        assert Path(pidfile).read_text() == f"{server.pid}\n"
        # A second server with the same pidfile refuses to start.
        second = make_server(server={"pidfile": pidfile}, health_check_server={"port": 0})
        done = subprocess.run(
            [str(SERVER_BIN), "--config", str(second.config_path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 1 and "locked" in done.stderr
        with socket.create_connection(("127.0.0.1", port), timeout=10) as health:
            health.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert health.makefile("rb").read() == b"HTTP/1.1 200 OK\r\n"
        assert server.drain() == 0
        assert not os.path.exists(pidfile)
    finally:
        if os.path.exists(pidfile):
            os.unlink(pidfile)


def test_json_log_lines(make_server: Callable[..., WardenServer]) -> None:
    server = make_server(logging={"json": True, "level": "debug"})
    server.start()
    with Client(server.socket_path) as client:
        handle = client.create().handle
        client.run(handle, "echo secret-script-text")
    server.drain()
    records = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert records, server.log()
    formats = [r.get("log_format", "") for r in records]
    assert any("Listening on" in f for f in formats)
    runs = [r for r in records if r.get("kind") == "run"]
    assert runs and runs[0]["handle"] == handle
    assert "secret-script-text" not in server.log()  # scripts stay out of logs


def test_log_level_filters(make_server: Callable[..., WardenServer]) -> None:
    server = make_server(logging={"level": "warn"})
    server.start()
    with Client(server.socket_path) as client:
        client.create()
    server.drain()
    assert "Listening on" not in server.log()


def test_sigterm_stops_without_draining(make_server: Callable[..., WardenServer]) -> None:
    server = make_server().start()
    with Client(server.socket_path) as client:
        client.create(handle="stays")
    server.stop()
    server.start()
    with Client(server.socket_path) as client:
        assert list(client.list().handles) == ["stays"]


def test_log_tag_sends_output_to_syslog(make_server: Callable[..., WardenServer]) -> None:
    server = make_server()
    syslog_path = str(server.base / "syslog.sock")
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(syslog_path)
    receiver.settimeout(30)
    try:
        server.config["server"]["syslog_socket"] = syslog_path
        server.write_config()
        server.start()
        with Client(server.socket_path) as client:
            handle = client.create().handle
            result = client.run(handle, "echo out1; echo err1 >&2; printf partial", log_tag="app")
            assert result.stdout == b"out1\npartial"
            records = sorted(receiver.recv(65536) for _ in range(3))
    finally:
        receiver.close()
    assert [r.split(b" ", 1)[0][:4] for r in records] == [b"<11>", b"<14>", b"<14>"]
    assert [r.rsplit(b": ", 1)[1] for r in records] == [b"err1", b"out1", b"partial"]
    assert all(b" warden.app: " in r for r in records)
