# -*- test-case-name: tests.test_job_output,tests.test_requests -*-
"""What clients and syslog see of a job's output, read from its keeper's files.

The keeper writes at most ``job_output_limit`` bytes (stdout and stderr
together) and nothing once the job has ended, so what a reader may see is
the files' sizes, fixed when the job ends. Each reader (a Stream, the syslog
sender) reads from its own offsets as the files grow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ._job_files import STREAMS, JobFiles
from ._syslog import PRIORITY_STDERR, PRIORITY_STDOUT, SyslogSender

__all__ = ["JobOutput", "OutputFollower"]

_READ_CHUNK = 64 * 1024


class OutputFollower:
    """Hands the output on to ``send(name, data)`` from its own offsets:
    chunks as they come, or whole lines when ``lines`` is true."""

    def __init__(self, output: JobOutput, send: Callable[[str, bytes], None], lines: bool) -> None:
        self.output = output
        self.send = send
        self.lines = lines
        self.offsets = dict.fromkeys(STREAMS, 0)
        self.partial = dict.fromkeys(STREAMS, b"")

    def pump(self) -> None:
        """Send what was written since the last pump."""
        for name in STREAMS:
            limit = self.output.readable(name)
            while self.offsets[name] < limit:
                want = min(_READ_CHUNK, limit - self.offsets[name])
                data = self.output.files.read(name, self.offsets[name], want)
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
        """Send everything, an unfinished last line included."""
        self.pump()
        for name in STREAMS:
            if self.lines and self.partial[name]:
                self.send(name, self.partial[name])
                self.partial[name] = b""


class JobOutput:
    """A job's stdout and stderr: their sizes so far, and their readers.

    ``discard_output`` hides the output from clients; it is still written
    (and read here) when ``log_tag`` sends it to syslog.
    """

    def __init__(
        self, files: JobFiles, *, discard_output: bool, log_tag: str | None, syslog: SyslogSender
    ) -> None:
        self.files = files
        self.discard_output = discard_output
        self.log_tag = log_tag
        self._syslog_sender = syslog
        self._sizes = dict.fromkeys(STREAMS, 0)
        self._final = False
        self._followers: list[OutputFollower] = []
        self._syslog: OutputFollower | None = None

    @property
    def written(self) -> bool:
        """Whether the keeper writes the output to files (else nothing is kept)."""
        return not self.discard_output or self.log_tag is not None

    def readable(self, name: str) -> int:
        """How many bytes of a stream a reader may see."""
        return self._sizes[name] if self.written else 0

    @property
    def final_sizes(self) -> dict[str, int]:
        """The sizes fixed when the job ended (for the snapshot)."""
        return dict(self._sizes)

    def follow_to_syslog(self, from_now: bool) -> None:
        """Send each line to syslog (when the job has a log tag); with
        ``from_now``, only lines written after this call."""
        if self.log_tag is None or self._syslog is not None:
            return
        tag, sender = self.log_tag, self._syslog_sender

        def to_syslog(name: str, line: bytes) -> None:
            sender.send(tag, PRIORITY_STDOUT if name == "stdout" else PRIORITY_STDERR, line)

        follower = OutputFollower(self, to_syslog, lines=True)
        if from_now:
            follower.offsets = {name: self.files.size(name) for name in STREAMS}
        self._syslog = follower

    def refresh(self) -> None:
        """Take in what the keeper wrote since, and hand it to the readers."""
        if self._final or not self.written:
            return
        self._sizes = {name: self.files.size(name) for name in STREAMS}
        for follower in list(self._followers):
            follower.pump()
        if self._syslog is not None:
            self._syslog.pump()

    def finish(self, final_sizes: Mapping[str, int] | None = None) -> None:
        """The job has ended: deliver the rest and fix the sizes (to
        ``final_sizes`` when a snapshot recorded them)."""
        self.refresh()
        if final_sizes is not None:
            self._sizes = {name: min(self._sizes[name], int(final_sizes.get(name, 0)))
                           for name in STREAMS}  # fmt: skip
        self._final = True
        if self._syslog is not None:
            self._syslog.flush()
            self._syslog = None
        for follower in list(self._followers):
            follower.pump()

    def read_all(self, name: str) -> bytes:
        """All of a stream a client may see (nothing when discarded)."""
        if self.discard_output:
            return b""
        chunks, offset, end = [], 0, self._sizes[name]
        while offset < end:
            data = self.files.read(name, offset, end - offset)
            if not data:
                break
            chunks.append(data)
            offset += len(data)
        return b"".join(chunks)

    def add_follower(self, send: Callable[[str, bytes], None]) -> OutputFollower:
        """Deliver all output so far, then each new chunk, to ``send(name, data)``."""
        follower = OutputFollower(self, send, lines=False)
        self._followers.append(follower)
        # The sizes may be stale: writes are not followed while nobody reads.
        self.refresh()
        follower.pump()
        return follower

    def remove_follower(self, follower: OutputFollower) -> None:
        """Stop delivering to a follower."""
        if follower in self._followers:
            self._followers.remove(follower)
