# -*- test-case-name: tests.test_logging -*-
"""Logging through twisted.logger at the configured level.

Records go to ``logging.file`` (appended) or stdout, as text lines or, with
``logging.json: true``, as one JSON object per line; ``logging.syslog`` (an
ident) sends them to the system log as well. The original's levels map onto
twisted's: fatal -> critical, debug/debug1/debug2/all -> debug, off -> nothing.

Twisted's own chatter (factories starting, ports closing, the main loop
ending) arrives at info level, much of it through the legacy ``log.msg``
bridge; it is demoted to debug so that a normal run logs only warden's
records. Legacy errors keep their level.
"""

from __future__ import annotations

import sys
import syslog
import time
from collections.abc import Callable
from typing import IO, Any

from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    formatEvent,
    globalLogBeginner,
    jsonFileLogObserver,
)

from ._config import LoggingConfig

__all__ = ["LEVELS", "debug_enabled", "observers_for", "setup_logging"]

#: Configured level -> lowest twisted level let through (None: nothing).
LEVELS: dict[str, LogLevel | None] = {
    "off": None,
    "fatal": LogLevel.critical,
    "error": LogLevel.error,
    "warn": LogLevel.warn,
    "info": LogLevel.info,
    "debug": LogLevel.debug,
    "debug1": LogLevel.debug,
    "debug2": LogLevel.debug,
    "all": LogLevel.debug,
}

_SYSLOG_PRIORITY = {
    LogLevel.critical: syslog.LOG_CRIT,
    LogLevel.error: syslog.LOG_ERR,
    LogLevel.warn: syslog.LOG_WARNING,
    LogLevel.info: syslog.LOG_INFO,
    LogLevel.debug: syslog.LOG_DEBUG,
}


#: Fields the legacy-log bridge adds to every event; they repeat the message.
_LEGACY_FIELDS = frozenset({"isError", "message", "system", "time", "format"})


def _extra(event: dict[str, Any]) -> str:
    """The event's own fields (handle, request ...), for the text format."""
    legacy = event.get("log_namespace") == "log_legacy"
    fields = {
        k: v for k, v in event.items()
        if not k.startswith("log_") and f"{{{k}" not in event.get("log_format", "")
        and not (legacy and k in _LEGACY_FIELDS)
    }  # fmt: skip
    return " ".join(f"{k}={v!r}" for k, v in sorted(fields.items()))


def _text_observer(stream: IO[str]) -> Callable[[dict[str, Any]], None]:
    def observe(event: dict[str, Any]) -> None:
        when = time.localtime(event.get("log_time", time.time()))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", when)
        level = event.get("log_level", LogLevel.info).name
        text = formatEvent(event)
        failure = event.get("log_failure")
        if failure is not None:
            text = f"{text}\n{failure.getTraceback()}"
        extra = _extra(event)
        stream.write(
            f"{stamp} [{event.get('log_namespace', '-')}] {level}: {text}"
            f"{' ' + extra if extra else ''}\n"
        )
        stream.flush()

    return observe


def _syslog_observer(ident: str) -> Callable[[dict[str, Any]], None]:
    syslog.openlog(ident, syslog.LOG_PID, syslog.LOG_DAEMON)

    def observe(event: dict[str, Any]) -> None:
        priority = _SYSLOG_PRIORITY.get(event.get("log_level", LogLevel.info), syslog.LOG_INFO)
        syslog.syslog(priority, formatEvent(event))

    return observe


def _is_twisted_chatter(event: dict[str, Any]) -> bool:
    """Twisted's own informational records (not warden's, not errors)."""
    if event.get("log_level") is not LogLevel.info:
        return False
    namespace = event.get("log_namespace", "")
    if namespace == "log_legacy":
        return not event.get("isError")
    return bool(namespace.startswith("twisted."))


def _quieting(observer: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    """``observer`` seeing Twisted's informational chatter at debug level."""

    def observe(event: dict[str, Any]) -> None:
        if _is_twisted_chatter(event):
            event = {**event, "log_level": LogLevel.debug}
        observer(event)

    return observe


#: Whether debug records reach a sink (set by ``observers_for``).
_debug = False


def debug_enabled() -> bool:
    """True when debug records are logged: callers skip building costly fields otherwise."""
    return _debug


def observers_for(config: LoggingConfig, stream: IO[str] | None = None) -> list[Any]:
    """The filtered observers for a logging section (empty when ``off``)."""
    global _debug
    level = LEVELS[config.level]
    _debug = level is LogLevel.debug
    if level is None:
        return []
    if stream is None:
        stream = open(config.file, "a") if config.file else sys.stdout  # noqa: SIM115
    sinks: list[Any] = [jsonFileLogObserver(stream) if config.json else _text_observer(stream)]
    if config.syslog:
        sinks.append(_syslog_observer(config.syslog))
    predicate: Any = LogLevelFilterPredicate(defaultLogLevel=level)
    return [_quieting(FilteringLogObserver(sink, [predicate])) for sink in sinks]


def setup_logging(config: LoggingConfig) -> None:
    """Send every log event of the process to the configured sinks."""
    globalLogBeginner.beginLoggingTo(
        observers_for(config), discardBuffer=False, redirectStandardIO=False
    )
