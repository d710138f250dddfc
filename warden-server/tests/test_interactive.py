"""Interactive jobs (an extension): spawn with stdin or a tty, Stdin, Resize.

Each test runs once per client kind (blocking and Twisted) against a real
insecure server; the restart test kills the server under a terminal job.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import AnyClient, WardenServer, job_ended, wait_for

from warden.client import Client, ServerError

#: Reads lines until EOF, then says so.
ECHO_LINES = 'while read -r line; do echo "got $line"; done; echo end'
#: On a terminal: its size on each SIGWINCH; one line read (polled, so the
#: trap runs meanwhile), then the size and the line.
WINDOW = (
    "trap 'stty size' WINCH; stty size; echo ready;"
    ' until read -r -t 0.1 line; do :; done; echo "line=$line"; tty -s && echo on-a-tty'
)


def error_of(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    with pytest.raises(ServerError) as caught:
        call(*args, **kwargs)
    return caught.value.message


def stdout_of(client: AnyClient, handle: str, job_id: int) -> Path:
    return Path(client.info(handle).container_path) / "jobs" / str(job_id) / "stdout"


def output_has(path: Path, text: bytes) -> Callable[[], bool]:
    return lambda: path.exists() and text in path.read_bytes()


def test_stdin_feeds_the_job_until_eof(client: AnyClient) -> None:
    handle = client.create().handle
    job_id = client.spawn(handle, ECHO_LINES, stdin=True).job_id
    client.stdin(handle, job_id, b"one\ntw")
    client.stdin(handle, job_id, b"o\n", eof=True)
    result = client.link(handle, job_id)
    assert (result.exit_status, result.stdout) == (0, b"got one\ngot two\nend\n")


def test_a_job_without_stdin_reads_nothing(client: AnyClient) -> None:
    handle = client.create().handle
    result = client.run(handle, "cat; echo done")
    assert result.stdout == b"done\n"


def test_tty_size_resize_and_input(client: AnyClient) -> None:
    handle = client.create().handle
    job_id = client.spawn(handle, WINDOW, tty=(24, 80)).job_id
    stdout = stdout_of(client, handle, job_id)
    wait_for(output_has(stdout, b"ready"), what="the job to start")
    client.resize(handle, job_id, 30, 100)
    wait_for(output_has(stdout, b"30 100"), what="the SIGWINCH trap")
    client.stdin(handle, job_id, b"hello\n")
    frames = client.stream_all(handle, job_id)
    assert frames[-1].exit_status == 0
    # A terminal: CRLF line ends, the input echoed, all of it as stdout.
    assert {frame.name for frame in frames[:-1]} == {"stdout"}
    text = b"".join(frame.data for frame in frames[:-1])
    assert text.startswith(b"24 80\r\nready\r\n30 100\r\n")
    assert b"hello\r\n" in text and text.endswith(b"line=hello\r\non-a-tty\r\n")


def test_eof_on_a_terminal_ends_a_reading_shell(client: AnyClient) -> None:
    handle = client.create().handle
    job_id = client.spawn(handle, "cat; echo after-eof", tty=(24, 80)).job_id
    client.stdin(handle, job_id, b"typed\n")
    client.stdin(handle, job_id, b"", eof=True)
    result = client.link(handle, job_id)
    assert result.exit_status == 0
    assert result.stdout.endswith(b"typed\r\nafter-eof\r\n")


def test_errors_name_the_job_and_why(client: AnyClient) -> None:
    handle = client.create().handle
    plain = client.spawn(handle, "sleep 100").job_id
    piped = client.spawn(handle, "sleep 100", stdin=True).job_id
    ended = client.spawn(handle, "exit 3", stdin=True).job_id
    assert error_of(client.stdin, handle, 4242, b"x") == "no such job"
    assert error_of(client.resize, handle, 4242, 1, 1) == "no such job"
    assert error_of(client.stdin, handle, plain, b"x") == (
        f"job {plain} has no stdin (spawn it with stdin or tty)"
    )
    assert error_of(client.resize, handle, piped, 10, 10) == (
        f"job {piped} has no terminal (spawn it with tty)"
    )
    client.stdin(handle, piped, b"", eof=True)
    assert error_of(client.stdin, handle, piped, b"more") == f"job {piped} stdin is closed"
    path = client.info(handle).container_path
    wait_for(lambda: job_ended(path, ended), what="a job to end")
    assert error_of(client.stdin, handle, ended, b"x") == f"job {ended} has finished"
    assert client.link(handle, ended).exit_status == 3
    assert error_of(client.spawn, handle, "true", tty=(0, 80)) == (
        "a terminal needs 1 to 65535 rows and columns"
    )
    client.stop(handle, kill=True)


def test_a_terminal_job_survives_a_restart(make_server: Callable[..., WardenServer]) -> None:
    server = make_server().start()
    with Client(server.socket_path) as client:
        handle = client.create(handle="tty-survivor").handle
        job_id = client.spawn(handle, WINDOW, tty=(24, 80)).job_id
        stdout = Path(client.info(handle).container_path) / "jobs" / str(job_id) / "stdout"
        wait_for(output_has(stdout, b"ready"), what="the job to start")
    server.kill()
    server.start()
    with Client(server.socket_path) as client:
        client.resize(handle, job_id, 40, 120)
        wait_for(output_has(stdout, b"40 120"), what="the SIGWINCH trap")
        client.stdin(handle, job_id, b"again\n")
        frames = list(client.stream(handle, job_id))
        assert frames[-1].exit_status == 0
        text = b"".join(frame.data for frame in frames[:-1])
        assert text.startswith(b"24 80\r\nready\r\n40 120\r\n")
        assert text.endswith(b"line=again\r\non-a-tty\r\n")


def test_stop_and_destroy_reach_a_terminal_job(client: AnyClient) -> None:
    # It leads a session of its own, which the container records as a job's.
    handle = client.create().handle
    job_id = client.spawn(handle, "trap 'exit 9' TERM; sleep 1000 & wait", tty=(24, 80)).job_id
    client.stop(handle)
    assert client.link(handle, job_id).exit_status == 9
    other = client.create().handle
    client.spawn(other, "exec bash -i", tty=(24, 80))
    client.destroy(other)
    assert other not in client.list().handles
