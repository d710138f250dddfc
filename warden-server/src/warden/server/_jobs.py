# -*- test-case-name: tests.test_requests,tests.test_keeper -*-
"""Jobs: a script running in a container under a keeper, followed through files.

The backend's wrapper (``job_command``: on Linux ``warden-keeper`` itself, on
insecure ``root-scripts/insecure/job.sh``, which execs it) is started in its
own session with the job's ``script`` as stdin, and is the job's keeper,
which starts the job with a sealed in-memory copy of the script as stdin
and pipes as stdout and stderr, writes what the job prints to files of the
job's directory (``_job_files``), and writes ``exit_status`` and exits when
the job ends. The job holds no host file. The server learns of output
through inotify on the directory (each write only while someone reads the
output live), and of the end when ``exit_status`` is renamed into place or
the keeper exits (the spawner's word, or a pidfd after a restart), so
nothing polls, no Python process is started, and a job outlives the server:
after a restart the directory is found again and followed from where it is.

``job_output_limit`` (stdout and stderr together) is the keeper's to
enforce: past it, it keeps nothing more, flags the job (``output_exceeded``)
and sends TERM, then KILL a second later, to the job's process group; the
job then ends with status 255 and the error ``command exceeded maximum
output``. A process the job leaves behind writes to closed pipes once the
keeper has exited: it gets SIGPIPE, and nothing it writes is kept.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer, threads
from twisted.logger import Logger

from ._errors import WardenError
from ._job_files import (
    EXIT_STATUS,
    OUTPUT_EXCEEDED_FLAG,
    PID,
    STREAMS,
    JobFiles,
    empty_job_dir,
    remove_job_dir,
    script_fd,
)
from ._job_output import JobOutput, OutputFollower
from ._scripts import spawn_detached
from ._syslog import SyslogSender
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
    "JobResult",
    "JobServices",
]

#: The error a job records when it printed more than ``job_output_limit``.
OUTPUT_EXCEEDED = "command exceeded maximum output"

#: What every job's directory is watched for: the pid file, output_exceeded,
#: exit_status (renamed into place), the output files' creation and last close.
_WATCH_MASK = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
#: And each write to the output files, while someone reads them as they grow
#: (a Stream, syslog): a job printing 1 MiB makes about a hundred of them,
#: each a wake-up of the reactor that a Run (which reads the output once, at
#: the end) does not need.
_LIVE_WATCH_MASK = _WATCH_MASK | IN_MODIFY
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


class Job:
    """One job of a container: its lifecycle (start, signals, end, snapshot)."""

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
        self.files = JobFiles(path)
        self.output = JobOutput(
            self.files, discard_output=discard_output, log_tag=log_tag or None,
            syslog=services.syslog,
        )  # fmt: skip
        self.output_limit = output_limit
        self.pid: int | None = None
        self.wrapper_pid: int | None = None
        self.wrapper_start: int | None = None
        self.status: int | None = None
        self.error: str | None = None
        self._wd: int | None = None
        #: Whether the watch includes each write to the output (see _watch).
        self._live = False
        self._exit_watcher: ProcessExitWatcher | None = None
        #: True while the spawner's word on this server's own wrapper counts.
        self._wrapper_followed = False
        self._started: defer.Deferred[None] | None = None
        # Each waiter with whether it wants the output read back.
        self._waiters: list[tuple[defer.Deferred[JobResult], bool]] = []
        self._pending_kill: int | None = None
        self.on_finish: Callable[[Job], None] | None = None
        #: Whether the script runs as root (Linux); set by the container.
        self.privileged = False
        #: The wrapper's environment from the container base (see ``wrapper_env``).
        self.env: dict[str, str] = {}
        #: Interactive jobs (an extension): stdin kept open, or a terminal's size.
        self.stdin = False
        self.tty: tuple[int, int] | None = None
        #: The script, from ``create`` until ``start`` hands it on.
        self.script = ""
        #: Whether a snapshot has listed the job (its end is then written too).
        self.recorded = False

    def __repr__(self) -> str:
        return f"<Job {self.job_id} pid={self.pid} status={self.status}>"

    @property
    def path(self) -> str:
        """The job's directory."""
        return self.files.path

    @property
    def discard_output(self) -> bool:
        """Whether clients see none of the output."""
        return self.output.discard_output

    @property
    def log_tag(self) -> str | None:
        """The syslog tag of the output (None: not sent to syslog)."""
        return self.output.log_tag

    def file(self, name: str) -> str:
        """Path of one of the job's files (``stdout``, ``pid`` ...)."""
        return self.files.file(name)

    @property
    def terminated(self) -> bool:
        """True once the job has ended (its result is known)."""
        return self.status is not None

    def wrapper_env(self, rlimits: Mapping[str, int], lang: str) -> dict[str, str]:
        """Environment every backend's wrapper receives (see ``container/base.py``)."""
        env = {
            "JOB_DIR": self.path,
            "DISCARD_OUTPUT": "false" if self.output.written else "true",
            # What clients see is bounded; what only goes to syslog is not.
            "OUTPUT_LIMIT": "" if self.discard_output else str(self.output_limit),
            "LANG": lang,
        }
        for name, value in rlimits.items():
            env[f"RLIMIT_{name.upper()}"] = "unlimited" if value >= 2**63 else str(value)
        # The keeper's interactive modes (see _job_control.py).
        if self.tty is not None:
            env["JOB_TTY"] = f"{self.tty[0]}x{self.tty[1]}"
        elif self.stdin:
            env["JOB_STDIN"] = "true"
        return env

    @property
    def interactive(self) -> bool:
        """Whether the job's keeper takes input (``stdin`` or ``tty``)."""
        return self.stdin or self.tty is not None

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
        """Make the job's directory; ``script`` waits for ``start``."""
        path = os.path.join(jobs_path, str(job_id))
        JobFiles.create(path)
        job = cls(
            services,
            job_id=job_id,
            path=path,
            discard_output=discard_output,
            log_tag=log_tag,
            output_limit=output_limit,
        )
        job.script = script
        return job

    # -- starting and following --

    async def start(self, argv: tuple[str, ...], env: Mapping[str, str]) -> None:
        """Start the wrapper detached; return once the job runs (its ``pid`` is known).

        The wrapper's stdin is an in-memory file holding ``script``.

        Raises WardenError when the wrapper ends without starting the job.
        """
        self._follow()
        # Kept here: a fast wrapper's pid may be seen (and _started fired and
        # cleared) before the await below.
        started = self._started = defer.Deferred()
        # The wrapper's stdin is the script (the keeper seals a copy for the job).
        script = script_fd(self.script)
        self.script = ""  # not kept for the job's lifetime
        try:
            spawning = spawn_detached(argv, env=env, stdin=script, reactor=self.services.reactor)
        finally:
            os.close(script)  # the spawner holds its own copy
        process = await spawning
        self.wrapper_pid = process.pid
        # The spawner reaps it and says when: no pidfd, no pid reused meanwhile.
        self._wrapper_followed = True
        process.ended.addCallback(self._wrapper_ended)
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

    def _follow(self, syslog_from_now: bool = False) -> None:
        if self._wd is None and os.path.isdir(self.path):
            self._watch(live=self.output.log_tag is not None)
        self.output.follow_to_syslog(syslog_from_now)

    def _watch(self, live: bool) -> None:
        """Watch the job's directory (again: the mask is replaced), with each
        output write when ``live``."""
        mask = _LIVE_WATCH_MASK if live else _WATCH_MASK
        self._wd = self.services.watcher.watch(self.path, mask, self._on_event)
        self._live = live

    def _on_event(self, name: str | None, mask: int) -> None:
        if self.terminated:
            return
        if name == PID or name is None:
            self._check_pid()
        if name == OUTPUT_EXCEEDED_FLAG or name is None:
            self._check_exceeded()
        if name in STREAMS or name is None:
            self.output.refresh()
        if name == EXIT_STATUS and mask & IN_MOVED_TO:
            self._check_ended()

    def _check_ended(self) -> None:
        """The keeper renamed ``exit_status`` into place: it has read the
        job's output to its end, so the job is over. Finishing here spares
        the keeper's exit and its report through the spawner (a wake-up of
        each); the wrapper's own end, which follows, then changes nothing."""
        status = self.files.read_int(EXIT_STATUS)
        if status is not None:
            self._check_pid()
            self._fire_started()
            self._finish(status)

    def _check_pid(self) -> None:
        if self.pid is None:
            self.pid = self.files.read_int(PID)
            if self.pid is not None:
                if self._pending_kill is not None:
                    self.kill(self._pending_kill)
                self._fire_started()

    def _check_exceeded(self) -> None:
        if self.error is None and self.files.exists(OUTPUT_EXCEEDED_FLAG):
            self.error = OUTPUT_EXCEEDED
            _log.warn("job {job_id} exceeded the output limit", job_id=self.job_id)

    def _fire_started(self) -> None:
        started, self._started = self._started, None
        if started is not None:
            started.callback(None)

    def _wrapper_ended(self, status: int) -> None:
        if self._wrapper_followed:
            self._on_wrapper_exit()

    def _on_wrapper_exit(self) -> None:
        self._wrapper_followed = False
        self._exit_watcher = None
        self._check_pid()
        self._fire_started()
        status = self.files.read_int(EXIT_STATUS)
        if status is None:
            _log.warn("job {job_id}: wrapper ended without an exit status", job_id=self.job_id)
            status = 255
        self._finish(status)

    # -- the end --

    def _finish(self, status: int, final_sizes: Mapping[str, int] | None = None) -> None:
        if self.terminated:
            return
        self._check_exceeded()
        if self.error is not None:
            status = 255
        self.status = status
        self._stop_following()
        self.output.finish(final_sizes)
        _log.debug("job {job_id} exited {status}", job_id=self.job_id, status=status)
        waiters, self._waiters = self._waiters, []
        if waiters:
            # The output is read once, and only when some waiter needs it.
            full = self.result() if any(output for _, output in waiters) else None
            bare = self.result(output=False)
            for waiter, output in waiters:
                waiter.callback(full if output and full is not None else bare)
        if self.on_finish is not None:
            self.on_finish(self)

    def _stop_following(self) -> None:
        self._wrapper_followed = False
        if self._wd is not None:
            self.services.watcher.unwatch(self._wd)
            self._wd = None
        if self._exit_watcher is not None:
            self._exit_watcher.cancel()
            self._exit_watcher = None

    def result(self, output: bool = True) -> JobResult:
        """Exit status and output of a finished job (empty output unless ``output``)."""
        assert self.status is not None
        if not output:
            return JobResult(self.status, b"", b"", self.error)
        stdout, stderr = self.output.read_all("stdout"), self.output.read_all("stderr")
        return JobResult(self.status, stdout, stderr, self.error)

    def finished(self, output: bool = True) -> defer.Deferred[JobResult]:
        """Fires with the result when the job ends (at once if it has).

        ``output=False`` leaves the output out (empty): a Stream has sent it
        already, and reading back megabytes only to drop them costs the
        reactor a copy of all of it.
        """
        if self.status is not None:
            return defer.succeed(self.result(output))

        def forget(waiter: defer.Deferred[JobResult]) -> None:
            self._waiters = [each for each in self._waiters if each[0] is not waiter]

        waiter: defer.Deferred[JobResult] = defer.Deferred(forget)
        self._waiters.append((waiter, output))
        return waiter

    def add_follower(self, send: Callable[[str, bytes], None]) -> OutputFollower:
        """Deliver all output so far, then each new chunk, to ``send(name, data)``."""
        if self._wd is not None and not self._live:
            # Writes are seen from now on; the follower's first pump reads
            # the files' sizes after this, so nothing falls in between.
            self._watch(live=True)
        return self.output.add_follower(send)

    def remove_follower(self, follower: OutputFollower) -> None:
        """Stop delivering to a follower."""
        self.output.remove_follower(follower)

    def kill(self, sig: int) -> None:
        """Signal the job's process group (once its pid is known)."""
        if self.terminated:
            return
        if self.pid is None:
            self._pending_kill = sig
            return
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
        self.files.close()

    def remove(self) -> None:
        """Forget the job: close it and delete its directory."""
        self._stop_following()
        self.files.remove()

    def remove_in_background(self, emptied: Callable[[str], None] | None = None) -> None:
        """As ``remove``, the files deleted on one of the reactor's threads;
        then ``emptied(path)`` on the reactor's, which decides what becomes
        of the empty directory (without it, it goes too).

        Unlinking a job's files takes a millisecond or more on a busy disk
        (more for a large output): work the reactor need not wait for, since
        nothing reads the directory once the job is forgotten.
        """
        self._stop_following()
        self.files.close()
        reactor = self.services.reactor
        if emptied is None:
            call_in_thread = getattr(reactor, "callInThread", None)
            if call_in_thread is None:  # a test's reactor without threads
                self.files.remove()
            else:
                call_in_thread(remove_job_dir, self.path)
            return
        path = self.path
        if getattr(reactor, "getThreadPool", None) is None:  # a test's reactor without threads
            if empty_job_dir(path):
                emptied(path)
            return
        done = threads.deferToThreadPool(reactor, reactor.getThreadPool(), empty_job_dir, path)
        done.addCallback(lambda empty: emptied(path) if empty else None)
        done.addErrback(lambda failure: _log.failure("job {path}", failure, path=path))

    # -- snapshots and recovery --

    def to_snapshot(self) -> dict[str, Any]:
        """The job's entry in the container snapshot (output stays in the files)."""
        self.recorded = True
        entry: dict[str, Any] = {
            "pid": self.pid,
            "wrapper_pid": self.wrapper_pid,
            "wrapper_start": self.wrapper_start,
            "discard_output": self.discard_output,
            "log_tag": self.log_tag,
        }
        if self.stdin:
            entry["stdin"] = True
        if self.tty is not None:
            entry["tty"] = list(self.tty)
        if self.status is not None:
            entry["status"] = [self.status, "", ""]
            entry["final_sizes"] = self.output.final_sizes
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
        exit status ends with 255. Its output so far is kept.
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
        job.recorded = True
        job.pid = entry.get("pid") or job.files.read_int(PID)
        job.wrapper_pid = entry.get("wrapper_pid")
        job.wrapper_start = entry.get("wrapper_start")
        job.error = entry.get("error")
        job.stdin = bool(entry.get("stdin"))
        tty = entry.get("tty")
        job.tty = (int(tty[0]), int(tty[1])) if isinstance(tty, list) and len(tty) == 2 else None
        status = entry.get("status")
        if isinstance(status, list) and status:
            job._finish(int(status[0]), entry.get("final_sizes"))
            return job
        exit_status = job.files.read_int(EXIT_STATUS)
        if exit_status is not None or job.wrapper_pid is None:
            job._finish(255 if exit_status is None else exit_status)
            return job
        # Syslog records continue from here: what came before was sent by
        # the previous server or happened while none was listening.
        job._follow(syslog_from_now=True)
        job._exit_watcher = ProcessExitWatcher(
            services.reactor, job.wrapper_pid, job._on_wrapper_exit, job.wrapper_start
        )
        job.output.refresh()
        return job
