# -*- test-case-name: tests.test_main -*-
"""``warden-server --config FILE``: the process around the server.

Startup order: read and check the configuration (an invalid one stops
here with the key and what was expected), take the socket's lock (a second
server on the same socket stops here, having touched nothing), check that the
backend's scripts and files are there, start logging, build the pools,
raise RLIMIT_NOFILE, keep freed memory for large responses (``_malloc``),
log the configuration, then in the reactor: host setup,
recovery, listen, pidfile. SIGUSR2 drains (``Server.drain``) and exits 0; SIGTERM and
SIGINT stop at once (snapshots are current anyway). Either way, before the
reactor stops, ``Server.shutdown`` (the warm pool's idle containers).
"""

from __future__ import annotations

import argparse
import resource
import signal
import sys
from collections.abc import Sequence
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from ._config import Config, load_config, parse_config
from ._errors import ConfigError
from ._lock import ServerLockedError, take_server_lock
from ._logging import setup_logging
from ._malloc import keep_freed_memory
from ._preflight import problems
from ._server import Server

__all__ = ["main"]

_log = Logger(namespace="warden.server")

#: The open-file limit the server asks for (the original's).
NOFILE = 32768


def _raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(NOFILE, hard), hard))
    new_soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    _log.debug("rlimit_nofile: {old} => {new}", old=soft, new=new_soft)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="warden-server", description="The warden daemon: containers over a unix socket."
    )
    parser.add_argument(
        "--config", metavar="FILE", help="YAML configuration (default: built-in defaults)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server until drained (0) or stopped; 2 for a bad configuration or a
    missing file, 1 when another server holds the socket or the start fails."""
    args = _parse_args(argv)
    try:
        config: Config = load_config(args.config) if args.config else parse_config(None)
    except ConfigError as error:
        print(f"warden-server: invalid configuration: {error}", file=sys.stderr)
        return 2
    # Before anything else is touched: a second server on this socket stops here.
    try:
        take_server_lock(config.server.unix_domain_path)  # held (left open) until exit
    except ServerLockedError as error:
        print(f"warden-server: cannot start: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"warden-server: cannot start: lock file: {error}", file=sys.stderr)
        return 1
    missing = problems(config)
    if missing:
        print("warden-server: cannot start: " + "; ".join(missing), file=sys.stderr)
        return 2
    setup_logging(config.logging)

    from twisted.internet import reactor

    try:
        server = Server(config, reactor)
    except ConfigError as error:
        print(f"warden-server: invalid configuration: {error}", file=sys.stderr)
        return 2
    _raise_nofile()
    if not keep_freed_memory():
        _log.info("malloc thresholds not set (not glibc): large responses fault their buffers in")
    _log.info("Configuration", configuration=config.to_dict())
    return _run(server, reactor)


def _run(server: Server, reactor: Any) -> int:
    exit_code = 0

    def failed(failure: Any) -> None:
        nonlocal exit_code
        exit_code = 1
        _log.failure("server failed to start", failure=failure)
        print(f"warden-server: cannot start: {failure.getErrorMessage()}", file=sys.stderr)
        if reactor.running:
            reactor.stop()

    def start() -> None:
        d = defer.ensureDeferred(server.start())
        d.addErrback(failed)

    def on_usr2(signum: int, frame: Any) -> None:
        # Only hand over to the reactor here: a signal can arrive anywhere.
        reactor.callFromThread(server.drain)

    server.drained.addCallback(lambda _: reactor.stop())
    # Waited for by the reactor, whatever stops it (drain, SIGTERM, SIGINT).
    reactor.addSystemEventTrigger(
        "before", "shutdown", lambda: defer.ensureDeferred(server.shutdown())
    )
    signal.signal(signal.SIGUSR2, on_usr2)
    reactor.callWhenRunning(start)
    try:
        reactor.run()
    finally:
        server.teardown_host()
        server.remove_pidfile()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
