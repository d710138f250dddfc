"""Fixtures: a real server on a real unix socket, and the ``warden`` tool as a subprocess."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from warden.client import Client

#: The repository's scripts (an installed warden-server cannot find them by itself).
ROOT_SCRIPTS = str(Path(__file__).resolve().parents[3] / "root-scripts")
_READY_WAIT = 60.0  # seconds a server may take to listen before the test fails


_CONFIG = """\
server:
  container_klass: insecure
  unix_domain_path: {socket}
  container_depot_path: {depot}
  container_grace_time: 300
  root_scripts_path: {scripts}
health_check_server:
  port: 0
logging:
  level: info
  file: {log}
"""


class Server:
    """A real warden server (insecure backend) in a subprocess, on ``socket_path``."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.socket_path = os.path.join(directory, "warden.sock")
        self.config = os.path.join(directory, "warden.yml")
        depot = os.path.join(directory, "depot")
        os.mkdir(depot)
        with open(self.config, "w") as file:
            file.write(
                _CONFIG.format(
                    socket=self.socket_path,
                    depot=depot,
                    log=os.path.join(directory, "warden.log"),
                    scripts=ROOT_SCRIPTS,
                )
            )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None
        server = os.path.join(os.path.dirname(sys.executable), "warden-server")
        self.process = subprocess.Popen(
            [server, "--config", self.config],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + _READY_WAIT
        while not self._answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with status {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("server did not listen in time")
            time.sleep(0.05)

    def _answers(self) -> bool:
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(self.socket_path)
            except OSError:
                return False
            return True

    def destroy_containers(self) -> None:
        """Destroy every container (and so its jobs, which outlive the server)."""
        with Client(self.socket_path) as client:
            for handle in client.list().handles:
                client.destroy(handle)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def server() -> Iterator[Server]:
    """A fresh server per test (unix socket paths must stay short, so not tmp_path)."""
    directory = tempfile.mkdtemp(prefix="warden-repl-")
    running = Server(directory)
    running.start()
    try:
        yield running
    finally:
        if running.process is not None:
            running.destroy_containers()
        running.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME of the test's own, so that no history reaches the real one."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("HOME", str(path))
    return path


def warden_command() -> list[str]:
    """The ``warden`` console script of this environment, with SIGINT at its default.

    A test runner started as a background job of a non-interactive shell ignores
    SIGINT, and an ignored signal stays ignored across exec: the tool would then
    never see the Ctrl-C the tests send it. ``env`` resets it, then execs the tool.
    """
    tool = os.path.join(os.path.dirname(sys.executable), "warden")
    return ["/usr/bin/env", "--default-signal=INT", tool]


def run_warden(
    *arguments: str, input: str | bytes | None = None, home: Path
) -> subprocess.CompletedProcess[bytes]:
    """Run the tool to the end; its output as bytes."""
    data = input.encode() if isinstance(input, str) else input
    return subprocess.run(
        [*warden_command(), *arguments],
        input=b"" if data is None else data,
        capture_output=True,
        env={**os.environ, "HOME": str(home)},
        timeout=120,
        check=False,
    )
