"""Interactive jobs in real containers: stdin, a terminal of the container's own, resize."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from twisted.internet import reactor as _reactor
from twisted.internet.threads import blockingCallFromThread

from warden.client import Client, ServerError
from warden.protocol import StreamRequest
from warden.twisted_client import connect

from .conftest import TIMEOUT, LinuxServer

reactor: Any = _reactor

#: The job's session, its leader and its terminal, as the container sees them.
WHO_AM_I = (
    'read -r -a stat < /proc/$$/stat; [ "${stat[5]}" = $$ ] && echo session-leader;'
    " readlink /proc/$$/fd/0; ls /dev/pts | tr '\\n' ' '; echo; stty size; echo hi > /dev/tty"
)
WINDOW = (
    "trap 'stty size' WINCH; echo ready; until read -r -t 0.1 line; do :; done; echo \"line=$line\""
)


def stdout_file(client: Client, handle: str, job_id: int) -> Path:
    return Path(client.info(handle).container_path) / "jobs" / str(job_id) / "stdout"


def wait_for_output(path: Path, text: bytes, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and text in path.read_bytes()):
        assert time.monotonic() < deadline, f"no {text!r} in {path}"
        time.sleep(0.02)


def test_a_terminal_of_the_containers_own(client: Client, container: str) -> None:
    result = client.run(container, f"exec bash -c {WHO_AM_I!r} </dev/null", timeout=TIMEOUT)
    assert result.exit_status != 0  # no terminal without tty: the /dev/tty write fails
    job_id = client.spawn(container, WHO_AM_I, tty=(33, 111)).job_id
    done = client.link(container, job_id, timeout=TIMEOUT)
    assert done.exit_status == 0, done.stdout
    lines = done.stdout.decode().split("\r\n")
    # Its own session and terminal, a slave of the container's devpts
    # instance: the only pty there, none of the host's.
    assert lines[:5] == ["session-leader", "/dev/pts/0", "0 ptmx ", "33 111", "hi"]


def test_stdin_and_resize(client: Client, container: str) -> None:
    piped = client.spawn(container, 'while read -r l; do echo "<$l>"; done', stdin=True).job_id
    client.stdin(container, piped, b"a\nb\n", eof=True, timeout=TIMEOUT)
    assert client.link(container, piped, timeout=TIMEOUT).stdout == b"<a>\n<b>\n"

    job_id = client.spawn(container, WINDOW, tty=(24, 80)).job_id
    stdout = stdout_file(client, container, job_id)
    wait_for_output(stdout, b"ready")
    client.resize(container, job_id, 50, 132, timeout=TIMEOUT)
    wait_for_output(stdout, b"50 132")
    client.stdin(container, job_id, b"typed\n", timeout=TIMEOUT)
    result = client.link(container, job_id, timeout=TIMEOUT)
    assert result.exit_status == 0
    assert result.stdout.endswith(b"typed\r\nline=typed\r\n")
    with pytest.raises(ServerError, match=r"^no such job$"):  # linked: forgotten
        client.resize(container, job_id, 10, 10, timeout=TIMEOUT)


def test_an_interactive_shell_has_job_control(client: Client, container: str) -> None:
    job_id = client.spawn(container, "exec bash -i", tty=(24, 80)).job_id
    client.stdin(container, job_id, b'echo "flags=$-"\n', timeout=TIMEOUT)
    client.stdin(container, job_id, b"sleep 100 & jobs; kill %1; exit 7\n", timeout=TIMEOUT)
    result = client.link(container, job_id, timeout=TIMEOUT)
    assert result.exit_status == 7
    text = result.stdout.decode()
    flags = text.split("flags=")[-1].split("\r\n")[0]
    assert "m" in flags and "i" in flags  # monitor mode: job control
    assert "no job control" not in text and "Running" in text


@pytest.fixture(scope="module")
def reactor_thread() -> Iterator[Any]:
    if not reactor.running:
        thread = threading.Thread(
            target=reactor.run, kwargs={"installSignalHandlers": False}, daemon=True
        )
        thread.start()
        while not reactor.running:
            time.sleep(0.01)
    yield reactor


def test_the_twisted_client(server: LinuxServer, container: str, reactor_thread: Any) -> None:
    def call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return blockingCallFromThread(reactor, lambda: method(*args, **kwargs))

    connection = call(connect, reactor, server.socket_path)
    try:
        job_id = call(connection.spawn, container, "read -r l; echo got=$l", tty=(24, 80)).job_id
        call(connection.resize, container, job_id, 25, 81)
        call(connection.stdin, container, job_id, b"x\n")
        frames: list[Any] = []
        final = call(
            connection.stream, StreamRequest(handle=container, job_id=job_id), frames.append
        )
        assert final.exit_status == 0
        assert b"".join(f.data for f in frames).endswith(b"x\r\ngot=x\r\n")
    finally:
        call(connection.disconnect)


def test_a_terminal_job_survives_a_restart(server: LinuxServer) -> None:
    with server.client() as client:
        handle = client.create(timeout=TIMEOUT).handle
        job_id = client.spawn(handle, WINDOW, tty=(24, 80)).job_id
        stdout = stdout_file(client, handle, job_id)
        wait_for_output(stdout, b"ready")
    server.kill()
    server.start()
    try:
        with server.client() as client:
            client.resize(handle, job_id, 44, 99, timeout=TIMEOUT)
            wait_for_output(stdout, b"44 99")
            client.stdin(handle, job_id, b"back\n", timeout=TIMEOUT)
            frames = list(client.stream(handle, job_id))
            assert frames[-1].exit_status == 0
            text = b"".join(frame.data for frame in frames[:-1])
            assert text.startswith(b"ready\r\n44 99\r\n") and text.endswith(b"line=back\r\n")
    finally:
        with server.client() as client:
            client.destroy(handle, timeout=TIMEOUT)


def test_signals_reach_a_terminal_job_in_its_own_session(client: Client, container: str) -> None:
    # warden-exec's parent passes the signal on to the job's session.
    script = "trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done"
    job_id = client.spawn(container, script, tty=(24, 80)).job_id
    wait_for_output(stdout_file(client, container, job_id), b"ready")
    client.signal(container, job_id, "USR1", timeout=TIMEOUT)
    result = client.link(container, job_id, timeout=TIMEOUT)
    # (The group's sleep got it too: bash says so before the trap's line.)
    assert result.exit_status == 7 and result.stdout.endswith(b"got-usr1\r\n")
    # A Stop's TERM ends a terminal job too.
    job_id = client.spawn(container, "sleep 1000", tty=(24, 80)).job_id
    client.stop(container, timeout=TIMEOUT)
    assert client.link(container, job_id, timeout=TIMEOUT).exit_status == 255
