"""Starting processes: scripts run to completion (``run_script``) and job
wrappers (``spawn_detached``: a session of its own), both with signals at
their defaults, no descriptor of the server's, their output kept, their exit
status; all started and reaped by the server's spawner, which the server
replaces when it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import Any

import pytest
from conftest import in_reactor, reactor
from twisted.internet import defer

from warden.server._errors import WardenError
from warden.server._scripts import (
    DetachedProcess,
    ScriptError,
    ScriptResult,
    run_script,
    spawn_detached,
)
from warden.server._spawn import (
    CROWD,
    PRIORITY_BOOST,
    REACTOR_RT_PRIORITY,
    make_reactor_realtime,
    raise_priority,
    start_spawner,
    stop_reactor_realtime,
    stop_spawner,
)
from warden.server._spawner import LOST_STATUS

#: glibc's posix_spawn leaves its two internal signals (32 and 33) ignored in
#: the child (warden-exec resets them); every other signal is at its default.
GLIBC_INTERNAL = (1 << 31) | (1 << 32)


def spawn(*argv: str, **env: str) -> DetachedProcess:
    process: DetachedProcess = in_reactor(lambda: spawn_detached(argv, env=env, reactor=reactor))
    return process


def test_the_wrapper_has_a_session_of_its_own_and_dev_null_as_stdin(reactor_thread: Any) -> None:
    script = r"""
read -r _ _ _ _ _ sid _ < /proc/self/stat
echo "pid=$$ sid=$sid extra=$EXTRA"
echo "stdin=$(readlink /proc/$$/fd/0)"
echo "to stderr" >&2
exit 3
"""
    process = spawn("/bin/bash", "-c", script, EXTRA="given")
    assert in_reactor(lambda: process.ended) == 3
    lines = process.stderr.decode().splitlines()
    assert f"pid={process.pid} sid={process.pid} extra=given" in lines
    assert "stdin=/dev/null" in lines
    assert "to stderr" in lines
    with pytest.raises(ChildProcessError):  # reaped: no zombie left
        os.waitpid(process.pid, os.WNOHANG)


def test_the_wrapper_starts_with_default_signals_and_no_other_descriptor(
    reactor_thread: Any,
) -> None:
    # Python ignores SIGPIPE and SIGXFSZ: ignored signals would survive exec.
    process = spawn("/bin/grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status")
    assert in_reactor(lambda: process.ended) == 0
    masks = dict(line.split(":\t") for line in process.stderr.decode().splitlines())
    assert int(masks["SigIgn"], 16) & ~GLIBC_INTERNAL == 0
    assert int(masks["SigBlk"], 16) == 0
    # 0, 1 and 2, and ls's own directory: nothing of the server's.
    process = spawn("/bin/ls", "/proc/self/fd")
    assert in_reactor(lambda: process.ended) == 0
    assert process.stderr.split() == [b"0", b"1", b"2", b"3"]


def test_a_signal_ends_the_wrapper_with_128_plus_its_number(reactor_thread: Any) -> None:
    process = spawn("/bin/sleep", "100")
    os.kill(process.pid, 15)
    assert in_reactor(lambda: process.ended) == 128 + 15


def test_a_wrapper_that_cannot_start_is_an_error(reactor_thread: Any, tmp_path: Any) -> None:
    with pytest.raises(WardenError, match="cannot start job wrapper"):
        spawn(str(tmp_path / "missing"))


def test_much_early_output_does_not_block_the_wrapper(reactor_thread: Any) -> None:
    # More than a pipe holds: the server reads it as it comes and keeps the end.
    process = spawn("/bin/bash", "-c", "head -c 1000000 /dev/zero | tr '\\0' x; echo; echo end")
    assert in_reactor(lambda: process.ended) == 0
    assert process.stderr.endswith(b"x\nend\n")
    assert len(process.stderr) == 4096


def script(*argv: str, **kwargs: Any) -> ScriptResult:
    result: ScriptResult = in_reactor(lambda: run_script(argv, reactor=reactor, **kwargs))
    return result


def test_run_script(reactor_thread: Any) -> None:
    result = script("/bin/bash", "-c", 'cat; echo "$EXTRA"; echo err >&2; exit 3',
                    env={"EXTRA": 7}, stdin=b"in\n" * 50000, check=False)  # fmt: skip
    assert result.exit_code == 3
    assert result.stdout == b"in\n" * 50000 + b"7\n"
    assert result.stderr == b"err\n"
    # A name without a slash is looked up in PATH.
    assert script("true").ok
    with pytest.raises(ScriptError) as failed:
        script("/bin/bash", "-c", "exit 4")
    assert failed.value.message == "command exited with failure"
    assert failed.value.result.exit_code == 4
    masks = dict(line.split(":\t") for line in
                 script("/bin/grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status").stdout.decode()
                 .splitlines())  # fmt: skip
    assert int(masks["SigIgn"], 16) & ~GLIBC_INTERNAL == 0
    assert script("/bin/ls", "/proc/self/fd").stdout.split() == [b"0", b"1", b"2", b"3"]


def test_run_script_errors(reactor_thread: Any, tmp_path: Any) -> None:
    with pytest.raises(ScriptError) as missing:
        script(str(tmp_path / "missing"))
    assert missing.value.result.exit_code == 127
    # Too much output: the script is stopped (TERM) and the error says why.
    with pytest.raises(ScriptError) as loud:
        script("/bin/bash", "-c", "trap 'exit 9' TERM; while :; do echo xxxxxxxx; done",
               max_output=100_000)  # fmt: skip
    assert loud.value.message == "command exceeded maximum output"
    assert loud.value.result.exit_code == 9
    assert len(loud.value.result.stdout) <= 100_000


# -- the spawner --


def wait_until_gone(pid: int) -> None:
    """Wait (10 s at most) until ``pid`` has ended and been reaped by its parent."""
    for _ in range(1000):
        if not os.path.exists(f"/proc/{pid}"):
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"process {pid} is still there")


def test_the_spawner_is_the_parent_and_answers_a_burst(reactor_thread: Any) -> None:
    spawner = in_reactor(lambda: start_spawner(reactor))
    # The server starts no process itself: the spawner forks them and reaps them.
    assert int(script("/bin/sh", "-c", "echo $PPID").stdout) == spawner.pid
    process = spawn("/bin/sh", "-c", "echo $PPID")
    assert in_reactor(lambda: process.ended) == 0
    assert int(process.stderr) == spawner.pid

    # Two hundred at once: each gets its own output and status.
    def burst() -> defer.Deferred[list[ScriptResult]]:
        runs = [f"echo {i}; exit {i % 7}" for i in range(200)]
        return defer.gatherResults(
            [run_script(("/bin/sh", "-c", run), check=False, reactor=reactor) for run in runs]
        )

    results = in_reactor(burst)
    assert [(r.stdout, r.exit_code) for r in results] == [
        (f"{i}\n".encode(), i % 7) for i in range(200)
    ]
    # A large environment and argument list travel whole.
    big = "x" * 100_000
    result = script("/bin/sh", "-c", 'printf %s "$BIG" | wc -c; echo "$1"', "sh", big,
                    env={"BIG": big})  # fmt: skip
    assert result.stdout == b"100000\n" + big.encode() + b"\n"
    # Too large for one request: that start fails (as execve would: E2BIG), the
    # spawner stays.
    with pytest.raises(ScriptError) as too_large:
        script("/bin/true", env={"HUGE": "x" * (2 << 20)})
    assert too_large.value.result.exit_code == 127
    assert b"Argument list too long" in too_large.value.result.stderr
    assert in_reactor(lambda: spawner.alive)
    assert script("true").ok


def test_a_dead_spawner_is_noticed_and_replaced(reactor_thread: Any, tmp_path: Any) -> None:
    spawner = in_reactor(lambda: start_spawner(reactor))
    flag = tmp_path / "running"
    script_text = f"touch {flag}; while [ -e {flag} ]; do sleep 0.01; done"
    pending: list[defer.Deferred[ScriptResult]] = in_reactor(
        lambda: [run_script(("/bin/sh", "-c", script_text), reactor=reactor)]
    )
    while not flag.exists():
        threading.Event().wait(0.01)
    os.kill(spawner.pid, signal.SIGKILL)
    wait_until_gone(spawner.pid)  # reaped by the server
    assert not in_reactor(lambda: spawner.alive)
    flag.unlink()
    # The script it had started runs on, followed by pidfd; its status is lost.
    with pytest.raises(ScriptError) as lost:
        in_reactor(lambda: pending[0])
    assert lost.value.result.exit_code == LOST_STATUS
    # The next start starts a new spawner.
    result = script("/bin/sh", "-c", "echo $PPID")
    assert result.ok
    assert int(result.stdout) not in (spawner.pid, os.getpid())


def test_the_spawner_ends_when_closed(reactor_thread: Any) -> None:
    spawner = in_reactor(lambda: start_spawner(reactor))
    in_reactor(stop_spawner)
    wait_until_gone(spawner.pid)
    # Processes start again afterwards, through a new one.
    assert script("true").ok


def nice_of(stat: str) -> int:
    """The niceness in a /proc/<pid>/stat line (its 19th field; no space in the names here)."""
    return int(stat.split()[18])


def test_the_reactor_runs_above_what_it_starts(reactor_thread: Any) -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    in_reactor(lambda: start_spawner(reactor, nice=base))
    reactor_tid = in_reactor(threading.get_native_id)
    try:
        assert in_reactor(raise_priority) is (os.geteuid() == 0)
        with open(f"/proc/self/task/{reactor_tid}/stat") as stat:
            expected = max(-20, base - PRIORITY_BOOST) if os.geteuid() == 0 else base
            assert nice_of(stat.read()) == expected
        # Scripts and jobs keep the niceness the server started with.
        assert nice_of(script("/bin/cat", "/proc/self/stat").stdout.decode()) == base
        process = spawn("/bin/cat", "/proc/self/stat")
        assert in_reactor(lambda: process.ended) == 0
        assert nice_of(process.stderr.decode()) == base
        # And a spawner started for another niceness gives it to its children.
        lower = min(19, base + 3)
        in_reactor(lambda: start_spawner(reactor, nice=lower))
        assert nice_of(script("/bin/cat", "/proc/self/stat").stdout.decode()) == lower
    finally:
        in_reactor(lambda: os.setpriority(os.PRIO_PROCESS, 0, base))
        in_reactor(lambda: start_spawner(reactor, nice=base))


def policy_of(stat: str) -> int:
    """The scheduling policy in a /proc/<pid>/stat line (its 41st field)."""
    return int(stat.split()[40])


def test_scripts_run_under_sched_batch_and_jobs_do_not(reactor_thread: Any) -> None:
    # What a script starts inherits it (bash's child here); a job wrapper,
    # and so the job, keeps the normal policy.
    stat = script("/bin/bash", "-c", "/bin/cat /proc/self/stat").stdout.decode()
    assert policy_of(stat) == os.SCHED_BATCH
    process = spawn("/bin/cat", "/proc/self/stat")
    assert in_reactor(lambda: process.ended) == 0
    assert policy_of(process.stderr.decode()) == os.SCHED_OTHER


def rt_priority_of(stat: str) -> int:
    """The real-time priority in a /proc/<pid>/stat line (its 40th field)."""
    return int(stat.split()[39])


def _policy_of_a_new_thread() -> int:
    found: list[int] = []
    thread = threading.Thread(target=lambda: found.append(os.sched_getscheduler(0)))
    thread.start()
    thread.join()
    return found[0]


def _reactor_policy(tid: int) -> int:
    with open(f"/proc/self/task/{tid}/stat") as stat:
        return policy_of(stat.read())


@pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_RR needs root")
def test_the_reactor_alone_runs_under_sched_rr_during_a_burst(reactor_thread: Any) -> None:
    reactor_tid = in_reactor(threading.get_native_id)
    try:
        nice = in_reactor(lambda: os.getpriority(os.PRIO_PROCESS, 0))
        assert in_reactor(lambda: make_reactor_realtime(reactor)) is None
        # Normal while fewer than CROWD scripts run (a stream beside one request).
        assert _reactor_policy(reactor_tid) == os.SCHED_OTHER
        assert in_reactor(lambda: os.sched_getscheduler(0)) & os.SCHED_RESET_ON_FORK
        release: defer.Deferred[None] = defer.Deferred()
        # (In a list: the Deferred itself, not waited for.)
        waiting = [
            in_reactor(lambda: [run_script(
                ["/bin/bash", "-c", "read -r _ || true"], reactor=reactor, stdin_until=release)])[0]
            for _ in range(CROWD)
        ]  # fmt: skip
        with open(f"/proc/self/task/{reactor_tid}/stat") as stat:
            line = stat.read()
        assert policy_of(line) == os.SCHED_RR
        assert rt_priority_of(line) == REACTOR_RT_PRIORITY
        # Nothing made from it inherits it: a thread (the thread pool's), a
        # process it starts itself (the spawner), the spawner's children.
        assert in_reactor(_policy_of_a_new_thread) == os.SCHED_OTHER
        child = in_reactor(
            lambda: subprocess.run(["cat", "/proc/self/stat"], capture_output=True, check=True)
        )
        assert policy_of(child.stdout.decode()) == os.SCHED_OTHER
        assert policy_of(script("/bin/cat", "/proc/self/stat").stdout.decode()) == os.SCHED_BATCH
        # The reactor's thread pool makes its threads at the reactor's niceness.
        factory = in_reactor(lambda: reactor.getThreadPool().threadFactory)
        found: list[tuple[int, int]] = []
        thread = factory(target=lambda: found.append(
            (os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0))))  # fmt: skip
        in_reactor(thread.start)
        thread.join()
        assert found == [(os.SCHED_OTHER, nice)]
        # The burst over, a normal thread again.
        in_reactor(lambda: release.callback(None))
        for done in waiting:
            assert in_reactor(lambda d=done: d).ok
        assert _reactor_policy(reactor_tid) == os.SCHED_OTHER
    finally:
        in_reactor(stop_reactor_realtime)
        in_reactor(lambda: setattr(reactor.getThreadPool(), "threadFactory", threading.Thread))
    assert _reactor_policy(reactor_tid) == os.SCHED_OTHER


def test_a_held_stdin_ends_when_the_server_says(reactor_thread: Any) -> None:
    # The script waits on its stdin (a pipe, nothing written) until the
    # Deferred fires; here, a while after it said it was waiting.
    release: defer.Deferred[None] = defer.Deferred()
    early: list[bytes] = []

    def seen(data: bytes) -> None:
        if b"waiting" in data:
            reactor.callLater(0.2, release.callback, None)
        if not release.called:
            early.append(data)

    result: ScriptResult = in_reactor(lambda: run_script(
        ["/bin/bash", "-c",
         'echo "waiting $(readlink /proc/self/fd/0)"; read -r -t 20 x; echo "read $? [$x]"'],
        reactor=reactor, on_stdout=seen, stdin_until=release,
    ))  # fmt: skip
    lines = result.stdout.decode().splitlines()
    assert lines[0].startswith("waiting pipe:")
    assert lines[1] == "read 1 []"  # its EOF, not the timeout (142)
    assert b"read" not in b"".join(early)
    # A script that ends first: the pipe is closed with it, nothing waits.
    never: defer.Deferred[None] = defer.Deferred()
    assert in_reactor(lambda: run_script(["true"], reactor=reactor, stdin_until=never)).ok
