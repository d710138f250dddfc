# -*- test-case-name: tests.test_requests,tests.test_job_ids -*-
"""Jobs: a script running in a container, followed through files.

A job lives in its directory ``<container_path>/jobs/<job_id>/``::

    script        written by the server (0600); the job's stdin
    stdout        appended by the job (absent when its output is discarded)
    stderr
    pid           the job's process-group leader, which the server signals
    exit_status   decimal status and a newline, written when the job ends

The backend's wrapper (``root-scripts/<backend>/job.sh``) is started in its
own session and stays alive while the job runs, then writes ``exit_status``
and exits. The server learns of output through inotify on the directory and
of the end through a pidfd on the wrapper, so nothing polls, no Python process
is started, and a job outlives the server: after a restart the directory is
found again and followed from where it is.

What a client sees of the output is bounded by ``job_output_limit`` (stdout
and stderr together). Going over it kills the job's process group; the job
then ends with status 255 and the error ``command exceeded maximum output``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger

from ._errors import WardenError
from ._late_output import Identity, LateWriters, file_identity
from ._scripts import spawn_detached
from ._syslog import PRIORITY_STDERR, PRIORITY_STDOUT, SyslogSender
from ._watch import (
    IN_CLOSE_WRITE,
    IN_CREATE,
    IN_MODIFY,
    IN_MOVED_TO,
    DirectoryWatcher,
    ProcessExitWatcher,
    process_start_time,
)

__all__ = [
    "OUTPUT_EXCEEDED",
    "STREAMS",
    "Job",
    "JobIdCounter",
    "JobResult",
    "JobServices",
]

#: The error a job records when it printed more than ``job_output_limit``.
OUTPUT_EXCEEDED = "command exceeded maximum output"
#: Output streams in the order Stream sends them.
STREAMS = ("stdout", "stderr")

_READ_CHUNK = 64 * 1024
#: After TERM for too much output, KILL follows when the job is still running.
_KILL_AFTER = 1.0
_WATCH_MASK = IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
_log = Logger(namespace="warden.server.jobs")


@dataclass(frozen=True)
class JobServices:
    """What jobs need from the server: the reactor, inotify, syslog."""

    reactor: Any
    watcher: DirectoryWatcher
    syslog: SyslogSender


@dataclass(frozen=True)
class JobResult:
    """A finished job: exit status and what it printed (bounded by the limit)."""

    exit_status: int
    stdout: bytes
    stderr: bytes
    error: str | None


class JobIdCounter:
    """Job ids: increasing, persisted in the depot, never reused across restarts.

    The file holds the highest id reserved so far, ahead of the ids handed
    out by ``RESERVE``: the file is written once per ``RESERVE`` jobs, not on
    every Spawn. After a restart ids continue above the reservation (the
    unused rest of it is skipped, never reused).
    """

    #: Ids reserved with each write of the file.
    RESERVE = 100

    def __init__(self, path: str) -> None:
        self.path = path
        self._last = 0
        try:
            with open(path) as handle:
                self._last = int(handle.read().strip() or 0)
        except (OSError, ValueError):
            self._last = 0
        self._reserved = self._last

    @property
    def last(self) -> int:
        """The most recent id handed out (0 before the first)."""
        return self._last

    def ensure_above(self, job_id: int) -> None:
        """Never hand out ``job_id`` or anything below it."""
        if job_id > self._last:
            self._last = job_id
            if self._last > self._reserved:
                self._save(self._last)

    def next(self) -> int:
        """A new job id, within the saved reservation before it is returned."""
        self._last += 1
        if self._last > self._reserved:
            self._save(self._last + self.RESERVE - 1)
        return self._last

    def _save(self, reserved: int) -> None:
        tmp = f"{self.path}.tmp"
        with open(tmp, "w") as handle:
            handle.write(f"{reserved}\n")
        os.replace(tmp, self.path)
        self._reserved = reserved


def _read_int(path: str) -> int | None:
    try:
        with open(path) as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


class _Follower:
    """Reads a job's output files from its own offsets and hands chunks on."""

    def __init__(self, job: Job, send: Callable[[str, bytes], None], lines: bool) -> None:
        self.job = job
        self.send = send
        self.lines = lines
        self.offsets = dict.fromkeys(STREAMS, 0)
        self.partial = dict.fromkeys(STREAMS, b"")

    def pump(self) -> None:
        for name in STREAMS:
            limit = self.job.readable(name)
            while self.offsets[name] < limit:
                want = min(_READ_CHUNK, limit - self.offsets[name])
                data = self.job.read(name, self.offsets[name], want)
                if not data:
                    break
                self.offsets[name] += len(data)
                self._deliver(name, data)

    def _deliver(self, name: str, data: bytes) -> None:
        if not self.lines:
            self.send(name, data)
            return
        data = self.partial[name] + data
        *complete, self.partial[name] = data.split(b"\n")
        for line in complete:
            self.send(name, line)

    def flush(self) -> None:
        self.pump()
        for name in STREAMS:
            if self.lines and self.partial[name]:
                self.send(name, self.partial[name])
                self.partial[name] = b""


class Job:
    """One job of a container; see the module docstring for the files."""

    def __init__(
        self,
        services: JobServices,
        *,
        job_id: int,
        path: str,
        discard_output: bool,
        log_tag: str | None,
        output_limit: int,
    ) -> None:
        self.services = services
        self.job_id = job_id
        self.path = path
        self.discard_output = discard_output
        self.log_tag = log_tag or None
        self.output_limit = output_limit
        self.pid: int | None = None
        self.wrapper_pid: int | None = None
        self.wrapper_start: int | None = None
        self.status: int | None = None
        self.error: str | None = None
        self._actual = dict.fromkeys(STREAMS, 0)
        self._visible = dict.fromkeys(STREAMS, 0)
        self._fds: dict[str, int] = {}
        self._wd: int | None = None
        self._exit_watcher: ProcessExitWatcher | None = None
        self._started: defer.Deferred[None] | None = None
        self._waiters: list[defer.Deferred[JobResult]] = []
        self._followers: list[_Follower] = []
        self._syslog: _Follower | None = None
        self._pending_kill: int | None = None
        #: Sizes of the output files when the job ended (see ``_late_output``).
        self._final_sizes: dict[str, int] = {}
        self._late = LateWriters(job_id)
        self.on_finish: Callable[[Job], None] | None = None
        #: Whether the script runs as root (Linux); set by the container.
        self.privileged = False
        #: The wrapper's environment from the container base (see ``wrapper_env``).
        self.env: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<Job {self.job_id} pid={self.pid} status={self.status}>"

    # -- the files --

    def file(self, name: str) -> str:
        """Path of one of the job's files (``script``, ``stdout``, ``pid`` ...)."""
        return os.path.join(self.path, name)

    @property
    def writes_files(self) -> bool:
        """Whether the wrapper writes stdout and stderr to files (else to /dev/null).

        Discarded output still goes to files when it is sent to syslog.
        """
        return not self.discard_output or self.log_tag is not None

    @property
    def terminated(self) -> bool:
        """True once the job has ended (its result is known)."""
        return self.status is not None

    def wrapper_env(self, rlimits: Mapping[str, int], lang: str) -> dict[str, str]:
        """Environment every backend's wrapper receives (see ``container/base.py``)."""
        env = {
            "JOB_DIR": self.path,
            "DISCARD_OUTPUT": "false" if self.writes_files else "true",
            "LANG": lang,
        }
        for name, value in rlimits.items():
            env[f"RLIMIT_{name.upper()}"] = "unlimited" if value >= 2**63 else str(value)
        return env

    @classmethod
    def create(
        cls,
        services: JobServices,
        *,
        job_id: int,
        jobs_path: str,
        script: str,
        discard_output: bool,
        log_tag: str | None,
        output_limit: int,
    ) -> Job:
        """Make the job's directory and write its script."""
        path = os.path.join(jobs_path, str(job_id))
        os.makedirs(path, mode=0o700)
        try:
            fd = os.open(os.path.join(path, "script"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(script)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)  # a full disk, say
            raise
        return cls(
            services,
            job_id=job_id,
            path=path,
            discard_output=discard_output,
            log_tag=log_tag,
            output_limit=output_limit,
        )

    # -- starting and following --

    async def start(self, argv: tuple[str, ...], env: Mapping[str, str]) -> None:
        """Start the wrapper detached; return once the job runs (its ``pid`` is known).

        Raises WardenError when the wrapper ends without starting the job.
        """
        self._follow_files()
        # Kept here: a fast wrapper's pid may be seen (and _started fired and
        # cleared) before the await below.
        started = self._started = defer.Deferred()
        process = spawn_detached(argv, env=env, reactor=self.services.reactor)
        self.wrapper_pid = process.pid
        # The server's own child, reaped only by the server: its pid cannot
        # be reused meanwhile, so no start time to check.
        self._exit_watcher = ProcessExitWatcher(
            self.services.reactor, process.pid, self._on_wrapper_exit
        )
        self._check_pid()
        await started
        # For the snapshot (after a restart the pid is checked against it).
        # Read now, not at the spawn: reading /proc/<pid>/stat of a process in
        # the middle of its exec can take milliseconds.
        self.wrapper_start = process_start_time(process.pid)
        if self.pid is None:
            detail = process.stderr.decode("utf-8", "replace").strip()
            _log.error("job {job_id} did not start: {detail}", job_id=self.job_id, detail=detail)
            raise WardenError("job failed to start")

    def _watch_directory(self) -> None:
        if self._wd is None and os.path.isdir(self.path):
            self._wd = self.services.watcher.watch(self.path, _WATCH_MASK, self._on_event)

    def _follow_files(self) -> None:
        self._watch_directory()
        if self.log_tag is not None and self._syslog is None:
            tag = self.log_tag
            sender = self.services.syslog

            def to_syslog(name: str, line: bytes) -> None:
                sender.send(tag, PRIORITY_STDOUT if name == "stdout" else PRIORITY_STDERR, line)

            self._syslog = _Follower(self, to_syslog, lines=True)

    def _on_event(self, name: str | None, mask: int) -> None:
        if self.terminated:
            if name in STREAMS or name is None:
                self._late_output()
            return
        if name == "pid" or name is None:
            self._check_pid()
        if name in STREAMS or name is None:
            self._refresh(first=name)

    def _check_pid(self) -> None:
        if self.pid is None:
            self.pid = _read_int(self.file("pid"))
            if self.pid is not None:
                if self._pending_kill is not None:
                    self.kill(self._pending_kill)
                self._fire_started()

    def _fire_started(self) -> None:
        started, self._started = self._started, None
        if started is not None:
            started.callback(None)

    def _on_wrapper_exit(self) -> None:
        self._exit_watcher = None
        self._check_pid()
        self._fire_started()
        status = _read_int(self.file("exit_status"))
        if status is None:
            _log.warn("job {job_id}: wrapper ended without an exit status", job_id=self.job_id)
            status = 255
        self._finish(status)

    # -- output accounting --

    def _refresh(self, first: str | None = None) -> None:
        """Look at the files' sizes; grant new output up to the limit, enforce it."""
        if not self.writes_files:
            return
        order = sorted(STREAMS, key=lambda n: n != first)
        for name in order:
            try:
                size = os.stat(self.file(name)).st_size
            except FileNotFoundError:
                size = 0
            grown = size - self._actual[name]
            if grown <= 0:
                continue
            self._actual[name] = size
            if self.discard_output:
                continue
            budget = self.output_limit - sum(self._visible.values())
            self._visible[name] += max(0, min(grown, budget))
        if (
            not self.discard_output
            and sum(self._actual.values()) > self.output_limit
            and self.error is None
        ):
            self.error = OUTPUT_EXCEEDED
            _log.warn("job {job_id} exceeded the output limit", job_id=self.job_id)
            if self._exit_watcher is not None:  # the job is still running
                self.kill(signal.SIGTERM)
                # Fires even if the job has ended meanwhile: what is left of
                # its process group is killed.
                self.services.reactor.callLater(
                    _KILL_AFTER, self._signal_group, signal.SIGKILL
                )
        if self.error == OUTPUT_EXCEEDED:
            # Until the job is gone, what it writes past the limit is cut off
            # as it comes: it would only fill the host's disk.
            self._truncate()
        for follower in list(self._followers):
            follower.pump()
        if self._syslog is not None:
            self._syslog.pump()

    def readable(self, name: str) -> int:
        """How many bytes of a stream a reader may see."""
        if self.discard_output:
            return self._actual[name] if self.log_tag is not None else 0
        return self._visible[name]

    def read(self, name: str, offset: int, size: int) -> bytes:
        """Bytes of a stream's file (empty when it does not exist)."""
        fd = self._fds.get(name)
        if fd is None:
            try:
                fd = os.open(self.file(name), os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return b""
            self._fds[name] = fd
        return os.pread(fd, size, offset)

    def _read_all(self, name: str) -> bytes:
        if self.discard_output:
            return b""
        chunks, offset = [], 0
        while offset < self._visible[name]:
            data = self.read(name, offset, self._visible[name] - offset)
            if not data:
                break
            chunks.append(data)
            offset += len(data)
        return b"".join(chunks)

    # -- the end --

    def _finish(self, status: int) -> None:
        if self.terminated:
            return
        self._refresh()
        if self.error is not None:
            status = 255
        self.status = status
        # The directory stays watched until the job is forgotten: see _late_output.
        self._stop_process_watch()
        if self._syslog is not None:
            self._syslog.flush()
            self._syslog = None
        for follower in list(self._followers):
            follower.pump()
        if self.error is not None:
            self._truncate()
        self._final_sizes = {name: _size(self.file(name)) for name in STREAMS}
        _log.debug("job {job_id} exited {status}", job_id=self.job_id, status=status)
        waiters, self._waiters = self._waiters, []
        if waiters:
            result = self.result()
            for waiter in waiters:
                waiter.callback(result)
        if self.on_finish is not None:
            self.on_finish(self)

    def _truncate(self) -> None:
        # Output past the limit is of no use to anyone: give the disk space back.
        # (Only what is too long: a truncation is itself an IN_MODIFY event.)
        for name in STREAMS:
            if _size(self.file(name)) > self._visible[name]:
                with contextlib.suppress(OSError):
                    os.truncate(self.file(name), self._visible[name])

    def _late_output(self) -> None:
        """A file of the finished job grew: stop its writers, drop what they wrote."""
        for name in STREAMS:
            path = self.file(name)
            if _size(path) <= self._final_sizes.get(name, 0):
                continue
            identity = file_identity(path)
            if identity is not None:
                self._late.stop(identity)
            with contextlib.suppress(OSError):
                os.truncate(path, self._final_sizes.get(name, 0))

    def _watch_late_output(self, final_sizes: Mapping[str, Any] | None) -> None:
        """After a restart, a finished job: cut back what was written to its
        files while no server ran, and watch them again for late writers.

        ``final_sizes`` come from the snapshot; without them (a job that ended
        while the server was down, or an older snapshot) the sizes a reader
        may see stand in: what is past them is nobody's output.
        """
        if not self.writes_files:
            return
        self._final_sizes = {
            name: int((final_sizes or {}).get(name, self.readable(name))) for name in STREAMS
        }
        for name, size in self._final_sizes.items():
            self._visible[name] = min(self._visible[name], size)
        self._late_output()
        self._watch_directory()

    def _watch_deleted_output(self) -> None:
        """Go on stopping late writers once the files are deleted: a watch on
        a file lasts as long as someone holds it open."""
        if not self.terminated or not self.writes_files:
            return
        late = self._late
        for name in STREAMS:
            identity = file_identity(self.file(name))
            if identity is None:
                continue

            def on_event(_: str | None, mask: int, identity: Identity = identity) -> None:
                if mask & IN_MODIFY:
                    late.stop(identity)

            with contextlib.suppress(OSError):
                self.services.watcher.watch(self.file(name), IN_MODIFY, on_event)

    def _stop_process_watch(self) -> None:
        if self._exit_watcher is not None:
            self._exit_watcher.cancel()
            self._exit_watcher = None

    def _stop_following(self) -> None:
        if self._wd is not None:
            self.services.watcher.unwatch(self._wd)
            self._wd = None
        self._stop_process_watch()
        # A pending KILL after too much output is left to fire: it is for
        # whatever is left of the job's process group, even once forgotten.

    def result(self) -> JobResult:
        """Exit status and output of a finished job."""
        assert self.status is not None
        stdout, stderr = self._read_all("stdout"), self._read_all("stderr")
        return JobResult(self.status, stdout, stderr, self.error)

    def finished(self) -> defer.Deferred[JobResult]:
        """Fires with the result when the job ends (at once if it has)."""
        if self.status is not None:
            return defer.succeed(self.result())

        def forget(waiter: defer.Deferred[JobResult]) -> None:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

        waiter: defer.Deferred[JobResult] = defer.Deferred(forget)
        self._waiters.append(waiter)
        return waiter

    def add_follower(self, send: Callable[[str, bytes], None]) -> _Follower:
        """Deliver all output so far, then each new chunk, to ``send(name, data)``."""
        follower = _Follower(self, send, lines=False)
        self._followers.append(follower)
        follower.pump()
        return follower

    def remove_follower(self, follower: _Follower) -> None:
        """Stop delivering to a follower."""
        if follower in self._followers:
            self._followers.remove(follower)

    def kill(self, sig: int) -> None:
        """Signal the job's process group (once its pid is known)."""
        if self.terminated:
            return
        if self.pid is None:
            self._pending_kill = sig
            return
        self._signal_group(sig)

    def _signal_group(self, sig: int) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)

    def abandon(self) -> None:
        """The container is gone: end the job now if it has not ended (status 255)."""
        if not self.terminated:
            self._finish(255)
        self.close()

    def close(self) -> None:
        """Stop following and release descriptors (the files stay)."""
        self._stop_following()
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def remove(self) -> None:
        """Forget the job: close it and delete its directory."""
        self.close()
        self._watch_deleted_output()
        shutil.rmtree(self.path, ignore_errors=True)

    # -- snapshots and recovery --

    def to_snapshot(self) -> dict[str, Any]:
        """The job's entry in the container snapshot (output stays in the files)."""
        entry: dict[str, Any] = {
            "pid": self.pid,
            "wrapper_pid": self.wrapper_pid,
            "wrapper_start": self.wrapper_start,
            "discard_output": self.discard_output,
            "log_tag": self.log_tag,
        }
        if self.status is not None:
            entry["status"] = [self.status, "", ""]
            entry["final_sizes"] = self._final_sizes
        if self.error is not None:
            entry["error"] = self.error
        return entry

    @classmethod
    def recover(
        cls,
        services: JobServices,
        *,
        job_id: int,
        jobs_path: str,
        entry: Mapping[str, Any],
        output_limit: int,
    ) -> Job | None:
        """Rebuild a job after a restart; None when its directory is gone.

        A job that ended while the server was down reads its ``exit_status``;
        a running one is followed again; one whose wrapper died without an
        exit status ends with 255. Its output so far is kept (bounded).
        """
        path = os.path.join(jobs_path, str(job_id))
        if not os.path.isdir(path):
            return None
        job = cls(
            services,
            job_id=job_id,
            path=path,
            discard_output=bool(entry.get("discard_output")),
            log_tag=entry.get("log_tag"),
            output_limit=output_limit,
        )
        job.pid = entry.get("pid") or _read_int(job.file("pid"))
        job.wrapper_pid = entry.get("wrapper_pid")
        job.wrapper_start = entry.get("wrapper_start")
        job.error = entry.get("error")
        status = entry.get("status")
        if isinstance(status, list) and status:
            job.status = int(status[0])
            job._refresh()
            job._watch_late_output(entry.get("final_sizes"))
            return job
        exit_status = _read_int(job.file("exit_status"))
        if exit_status is not None or job.wrapper_pid is None:
            job._refresh()
            job._finish(255 if exit_status is None else exit_status)
            job._watch_late_output(None)
            return job
        if job.log_tag is not None:
            # Continue the syslog records from here: what came before was sent
            # by the previous server or happened while none was listening.
            job._follow_files()
            assert job._syslog is not None
            for name in STREAMS:
                job._syslog.offsets[name] = _size(job.file(name))
        job._follow_files()
        job._exit_watcher = ProcessExitWatcher(
            services.reactor, job.wrapper_pid, job._on_wrapper_exit, job.wrapper_start
        )
        job._refresh()
        return job


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
