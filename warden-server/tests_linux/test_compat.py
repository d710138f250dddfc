"""Where the original's clients can tell: errors that say why, a container
being destroyed, a stop under way, and what df shows under a disk limit."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from warden.client import Client, ServerError
from warden.protocol import CreateRequest

from .conftest import TIMEOUT, ContainerFactory, LinuxServer, output

BindMount = CreateRequest.BindMount

#: What must never reach a client: errno texts and exception class names.
PYTHON_TEXT = re.compile(r"\[Errno|Traceback|\b\w+(Error|Exception)\b")


def error_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ServerError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(caught.value.message)


def test_copy_failures_say_what_failed(tmp_path: Path, client: Client, container: str) -> None:
    message = error_of(client.copy_in, container, "/nonexistent", "/tmp/x", timeout=TIMEOUT)
    assert message.startswith("command exited with failure: ")
    assert "no such file or directory: /nonexistent" in message
    message = error_of(
        client.copy_out, container, "/etc/shadow", str(tmp_path / "shadow"), timeout=TIMEOUT
    )
    assert message.startswith("command exited with failure: ")
    assert "Permission denied" in message and "shadow" in message
    for text in (message,):
        assert not PYTHON_TEXT.search(text), text


def test_memory_limit_below_usage_names_both_numbers(client: Client, container: str) -> None:
    # About 40 MB of anonymous memory that cannot be reclaimed (no swap here).
    job = client.spawn(
        container, "x=$(head -c 40000000 /dev/zero | tr '\\0' a); echo held; sleep 1000"
    ).job_id
    for _ in range(600):
        info = client.info(container)
        if info.memory_stat.total_rss > 40_000_000:
            break
        threading.Event().wait(0.05)
    message = error_of(client.limit_memory, container, limit_in_bytes=8 * 1024 * 1024)
    match = re.fullmatch(
        r"Failed setting memory limit: the limit of 8388608 bytes is below the (\d+) bytes"
        r" the container uses \(memory and page cache\)",
        message,
    )
    assert match, message
    assert int(match.group(1)) > 8 * 1024 * 1024
    client.stop(container, kill=True, timeout=TIMEOUT)
    assert client.link(container, job, timeout=TIMEOUT).exit_status == 255


def test_requests_during_a_destroy_get_unknown_handle(server: LinuxServer) -> None:
    with server.client() as client:
        handle = client.create(timeout=TIMEOUT).handle
        client.limit_memory(handle, limit_in_bytes=256 * 1024 * 1024)
    answers: list[str] = []
    done = threading.Event()

    def poll() -> None:
        with server.client() as poller:
            while not done.is_set():
                try:
                    answers.append(poller.info(handle, timeout=TIMEOUT).state)
                except ServerError as error:
                    answers.append(error.message)
                    if error.message == "unknown handle":
                        return

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        with server.client() as client:
            client.destroy(handle, timeout=TIMEOUT)
    finally:
        thread.join(TIMEOUT)
        done.set()
    # Info answered the container's state until the destroy began, then
    # "unknown handle": never an error from the half-removed cgroups.
    assert answers[-1] == "unknown handle"
    assert set(answers) <= {"active", "stopping", "stopped", "unknown handle"}, answers


def test_info_says_stopping_until_the_stop_is_done(
    tmp_path: Path, client: Client, make_container: ContainerFactory
) -> None:
    # The host releases the job through a bind mount: while the container
    # stops, no request can reach into it.
    (tmp_path / "ctl").mkdir()
    container = make_container(bind_mounts=[
        BindMount(src_path=str(tmp_path / "ctl"), dst_path="/mnt/ctl", mode=BindMount.RO),
    ])  # fmt: skip
    job = client.spawn(
        container, "trap 'while [ ! -e /mnt/ctl/go ]; do sleep 0.02; done; exit 3' TERM;"
        " sleep 1000 & wait"
    ).job_id  # fmt: skip
    assert output(client, container, "sleep 0.2; echo ok") == "ok\n"
    client.stop(container, background=True)
    for _ in range(500):
        if client.info(container).state != "active":
            break
        threading.Event().wait(0.02)
    assert client.info(container).state == "stopping"
    assert error_of(client.copy_in, container, "/etc/hostname", "/tmp/x") == (
        "Container state must be one of 'active', current state is 'stopping'"
    )
    (tmp_path / "ctl" / "go").write_text("")
    client.stop(container, timeout=TIMEOUT)  # waits for the one under way
    assert client.info(container).state == "stopped"
    assert client.link(container, job, timeout=TIMEOUT).exit_status == 3


def test_df_shows_what_the_disk_limit_leaves(client: Client, container: str) -> None:
    limit = 100 * 1024 * 1024
    client.limit_disk(container, byte_limit=limit, timeout=TIMEOUT)
    available = int(output(client, container, "df -B1 --output=avail / | tail -1").strip())
    assert limit - 16 * 1024 * 1024 < available <= limit


def test_the_shell_tells_a_run_that_the_oom_killer_ended(client: Client, container: str) -> None:
    import io

    from warden.client._repl._execute import Executor
    from warden.client._repl._output import Output

    client.limit_memory(container, limit_in_bytes=32 * 1024 * 1024)
    out, err = io.BytesIO(), io.BytesIO()
    status = Executor(client, Output(out, err)).execute(
        ["run", "--handle", container, "--script", "x=$(head -c 200000000 /dev/zero | tr '\\0' a)"]
    )
    assert status == 255  # a signal ended it: no exit status, as the original
    assert b"event : out of memory\n" in err.getvalue()
