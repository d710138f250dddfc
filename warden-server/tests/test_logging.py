"""A normal run logs warden's records only: Twisted's chatter goes to debug."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

from conftest import WardenServer
from twisted.logger import LogLevel
from twisted.logger._legacy import publishToNewObserver
from twisted.python.log import textFromEventDict

from warden.server._config import LoggingConfig
from warden.server._logging import observers_for


def logged(level: str, *events: dict[str, Any]) -> str:
    stream = io.StringIO()
    observers = observers_for(LoggingConfig(level=level), stream)
    for event in events:
        for observer in observers:
            observer(event)
    return stream.getvalue()


def legacy(message: str, is_error: int = 0) -> dict[str, Any]:
    """An event as Twisted's legacy ``log.msg`` bridge delivers it."""
    caught: list[dict[str, Any]] = []
    publishToNewObserver(
        caught.append,
        {"message": (message,), "isError": is_error, "system": "-", "time": time.time()},
        textFromEventDict,
    )
    return caught[0]


def ours(text: str) -> dict[str, Any]:
    return {"log_namespace": "warden.server", "log_level": LogLevel.info, "log_format": text}


def test_twisted_legacy_chatter_is_debug() -> None:
    events = (legacy("WardenFactory starting on '/tmp/w.sock'"), ours("Listening"))
    at_info = logged("info", *events)
    assert "Listening" in at_info
    assert "starting on" not in at_info and "log_legacy" not in at_info
    at_debug = logged("debug", *events)
    assert "debug: WardenFactory starting on '/tmp/w.sock'\n" in at_debug
    assert "isError" not in at_debug  # the bridge's fields repeat the message


def test_twisted_errors_keep_their_level() -> None:
    assert "Unhandled error" in logged("info", legacy("Unhandled error in Deferred", is_error=1))
    loop = {"log_namespace": "twisted.internet.base", "log_level": LogLevel.info,
            "log_format": "Main loop terminated."}  # fmt: skip
    assert logged("info", loop) == ""
    assert "Main loop terminated." in logged("debug", loop)


def test_a_normal_run_at_info_logs_only_warden(
    make_server: Callable[..., WardenServer],
) -> None:
    server = make_server(logging={"level": "info"}).start()
    with server.client() as client:
        client.destroy(client.create().handle)
    assert server.drain() == 0
    lines = server.log().splitlines()
    assert any("Listening on" in line for line in lines)
    assert any("Drain complete" in line for line in lines)
    assert [line for line in lines if "[warden." not in line] == []
