"""A real warden-server process for tests and benchmarks.

Shipped with the package (like ``twisted.internet.testing``) so that the
project's test suites, its benchmarks and users' own tests start, restart and
clean up servers the same way. It drives the server through the blocking
client, so it needs ``warden-client`` (installed by ``warden-server[test]``).

    >>> server = ServerProcess(base, config, netns="warden-test-1").start()  # doctest: +SKIP
    >>> with server.client() as client:                                      # doctest: +SKIP
    ...     client.ping()
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from typing import Self

    from warden.client import Client

__all__ = ["SERVER_BIN", "ServerProcess", "deep_merge", "private_netns", "sh"]

#: The console script of the interpreter running the tests.
SERVER_BIN = Path(sys.executable).with_name("warden-server")


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in, nested mappings key by key."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def sh(*argv: str, check: bool = True) -> str:
    """Run a host command; its stdout. ``check``: fail with its stderr on a non-zero exit."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr}")
    return done.stdout


@contextlib.contextmanager
def private_netns(prefix: str) -> Iterator[str]:
    """A fresh network namespace ``<prefix>-<hex>`` with loopback up, removed afterwards.

    Linux containers of tests and benchmarks live in one, so that their
    veths, routes and firewall rules never touch the host's network.
    """
    name = f"{prefix}-{secrets.token_hex(3)}"
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        sh("ip", "netns", "del", name, check=False)


class ServerProcess:
    """A warden-server process with its own configuration file and log.

    ``config`` is the configuration as a mapping; ``server.unix_domain_path``
    and ``server.container_depot_path`` name the socket and the depot. With
    ``netns`` the server runs inside that network namespace, entered with
    ``nsenter --net`` (``ip netns exec`` would remount /sys and hide the
    cgroup hierarchies).
    """

    def __init__(
        self,
        base: Path,
        config: Mapping[str, Any],
        *,
        netns: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.base = base
        self.netns = netns
        self.env = dict(env) if env is not None else None
        self.config: dict[str, Any] = dict(config)
        self.config_path = base / "warden.yml"
        self.log_path = base / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.write_config()

    @property
    def socket_path(self) -> str:
        """The server's unix socket."""
        return str(self.config["server"]["unix_domain_path"])

    @property
    def depot(self) -> Path:
        """The container depot."""
        return Path(self.config["server"]["container_depot_path"])

    @property
    def pid(self) -> int:
        """The running server's pid."""
        assert self.process is not None, "the server is not running"
        return self.process.pid

    def write_config(self) -> None:
        """Write ``self.config`` to the file the server reads at start."""
        self.config_path.write_text(yaml.safe_dump(self.config))

    def in_netns(self, *argv: str) -> list[str]:
        """``argv`` run in the server's network namespace (if it has one)."""
        if self.netns is None:
            return list(argv)
        return ["nsenter", f"--net=/run/netns/{self.netns}", *argv]

    def start(self, timeout: float = 60.0) -> Self:
        """Start the server and return once it answers a Ping."""
        from warden.client import Client, ClientConnectionError
        from warden.protocol import PingRequest

        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.in_netns(str(SERVER_BIN), "--config", str(self.config_path)),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=self.env,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"warden-server exited {self.process.returncode}:\n{self.log()}")
            try:
                with Client(self.socket_path) as client:
                    client.call(PingRequest(), timeout=10)
                return self
            except (ClientConnectionError, FileNotFoundError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"warden-server did not come up:\n{self.log()}") from None
                time.sleep(0.02)

    def wait(self, timeout: float = 60.0) -> int:
        """Wait for the server to exit; its exit status."""
        assert self.process is not None, "the server is not running"
        code = self.process.wait(timeout)
        self.process = None
        return code

    def drain(self) -> int:
        """SIGUSR2: the server drains and exits, containers live on; its exit status."""
        assert self.process is not None, "the server is not running"
        self.process.send_signal(signal.SIGUSR2)
        return self.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would; containers live on."""
        assert self.process is not None, "the server is not running"
        self.process.kill()
        self.wait()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (SIGKILL after ``timeout``), if it is running."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def log(self, tail: int = 20000) -> str:
        """The last ``tail`` characters of the server's log."""
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def client(self) -> Client:
        """A connected blocking client (use it as a context manager)."""
        from warden.client import Client

        client = Client(self.socket_path)
        client.connect()
        return client

    def containers(self) -> list[Path]:
        """Container directories in the depot."""
        if not self.depot.is_dir():
            return []
        return [p for p in self.depot.iterdir() if p.is_dir() and not p.name.startswith(".")]

    def destroy_leftovers(self, destroy_script: Path) -> None:
        """Destroy every container directory left in the depot with the backend's script."""
        for path in self.containers():
            with contextlib.suppress(OSError):
                subprocess.run(
                    self.in_netns(str(destroy_script), str(path)),
                    check=False,
                    capture_output=True,
                    timeout=120,
                )
