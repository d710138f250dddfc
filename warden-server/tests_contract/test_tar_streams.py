"""StreamIn and StreamOut (extensions) on both backends: tar streams in and
out of a container, extracted and packed in the container's own view.

Each test runs against the insecure and the Linux backend (conftest.py).
The clients' side (windows, errors in a pipelined stream, the Twisted
client) is in ``tests/test_tar_streams.py``.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from warden.client import Client, ServerError
from warden.server.testing import REQUEST_TIMEOUT

from .conftest import Backend

MIB = 1024 * 1024


def error_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ServerError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(caught.value.message)


def add(archive: tarfile.TarFile, name: str, *, data: bytes = b"", mode: int = 0o644,
        kind: bytes = tarfile.REGTYPE, link: str = "") -> None:  # fmt: skip
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    archive.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def archive(build: object) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as made:
        build(made)  # type: ignore[operator]
    buffer.seek(0)
    return buffer


def members(chunks: Iterator[bytes]) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    """The members of a streamed archive by name, with the files' contents."""
    whole = b"".join(chunks)
    found = {}
    with tarfile.open(fileobj=io.BytesIO(whole)) as read:
        for member in read:
            extracted = read.extractfile(member) if member.isfile() else None
            found[member.name] = (member, extracted.read() if extracted else b"")
    return found


def run_ok(client: Client, handle: str, script: str) -> bytes:
    result = client.run(handle, script, timeout=REQUEST_TIMEOUT)
    assert result.exit_status == 0, result.stderr
    return bytes(result.stdout)


def test_a_tree_round_trips_with_modes_symlinks_and_a_large_file(
    backend: Backend, client: Client, container: str, tmp_path: Path
) -> None:
    home = backend.home.rstrip("/")
    large = tmp_path / "large"
    with large.open("wb") as out:
        for _ in range(20):
            out.write(os.urandom(MIB))
    source = tmp_path / "tree.tar"
    with tarfile.open(source, "w") as made:
        add(made, "tree", kind=tarfile.DIRTYPE, mode=0o750)
        add(made, "tree/secret", data=b"only mine", mode=0o600)
        add(made, "tree/tool", data=b"#!/bin/sh\necho tool\n", mode=0o755)
        add(made, "tree/near", kind=tarfile.SYMTYPE, link="secret")
        add(made, "tree/far", kind=tarfile.SYMTYPE, link="/etc/hostname")
        made.add(large, "tree/large")
    with source.open("rb") as stream:
        assert client.stream_in(container, f"{home}/in", stream).done
    assert run_ok(client, container, "cd in/tree && ./tool && readlink near far") == (
        b"tool\nsecret\n/etc/hostname\n"
    )
    out = members(client.stream_out(container, f"{home}/in/tree"))
    names = ["tree", "tree/far", "tree/large", "tree/near", "tree/secret", "tree/tool"]
    assert sorted(out) == names
    assert stat.S_IMODE(out["tree"][0].mode) == 0o750
    assert stat.S_IMODE(out["tree/secret"][0].mode) == 0o600
    assert out["tree/secret"][1] == b"only mine"
    assert stat.S_IMODE(out["tree/tool"][0].mode) == 0o755
    assert (out["tree/near"][0].issym(), out["tree/near"][0].linkname) == (True, "secret")
    assert out["tree/far"][0].linkname == "/etc/hostname"
    assert out["tree/large"][1] == large.read_bytes()
    # A trailing slash streams the contents.
    assert "./secret" in members(client.stream_out(container, f"{home}/in/tree/"))


def test_links_in_the_stream_do_not_lead_out(
    backend: Backend, client: Client, container: str, tmp_path: Path
) -> None:
    home = backend.home.rstrip("/")
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    run_ok(client, container, "mkdir outside")  # (jobs start in the home)

    def escapes(made: tarfile.TarFile) -> None:
        add(made, "abs", kind=tarfile.SYMTYPE, link=f"{home}/outside")
        add(made, "abs/pwned", data=b"x")
        add(made, "up", kind=tarfile.SYMTYPE, link="../outside")
        add(made, "up/pwned", data=b"x")
        add(made, "host", kind=tarfile.SYMTYPE, link=str(host_dir))
        add(made, "host/pwned", data=b"x")
        add(made, "../dotdot-pwned", data=b"x")

    with pytest.raises(ServerError) as caught:
        client.stream_in(container, f"{home}/in", archive(escapes))
    assert caught.value.message.startswith("stream_in failed: tar: ")
    assert run_ok(client, container, "ls -A outside") == b""
    assert b"dotdot-pwned" not in run_ok(client, container, "ls -A")
    assert list(host_dir.iterdir()) == []


def test_links_planted_in_the_container_do_not_lead_out(
    backend: Backend, client: Client, container: str, tmp_path: Path
) -> None:
    home = backend.home.rstrip("/")
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    (host_dir / "secret").write_bytes(b"the host's secret")
    run_ok(client, container, f"ln -s {host_dir} planted")
    one_file = archive(lambda made: add(made, "pwned", data=b"x"))
    # In: the link resolves in the container's view, where the host's
    # directory is not; whatever happens there, the host's stays untouched.
    try:
        client.stream_in(container, f"{home}/planted", one_file)
    except ServerError as error:
        assert "cannot create the directory" in error.message
    one_file.seek(0)
    try:
        client.stream_in(container, f"{home}/planted/deeper", one_file)
    except ServerError as error:
        assert "cannot create the directory" in error.message
    assert sorted(p.name for p in host_dir.iterdir()) == ["secret"]
    # Out: the same, the host's file is never read.
    assert error_of(lambda: list(client.stream_out(container, f"{home}/planted/secret"))) == (
        f"stream_out failed: no such file or directory in the container: {home}/planted/secret"
    )
    streamed = b"".join(client.stream_out(container, f"{home}/planted"))
    assert b"the host's secret" not in streamed
    assert members(iter([streamed]))["planted"][0].linkname == str(host_dir)


def test_a_link_to_etc_is_the_containers_etc(
    backend: Backend, client: Client, container: str
) -> None:
    home = backend.home.rstrip("/")
    run_ok(client, container, "ln -s /etc etc-link")
    path = f"{home}/etc-link/hostname"
    if backend.kind == "insecure":  # the jail has no /etc: the link leads nowhere
        assert error_of(lambda: list(client.stream_out(container, path))) == (
            f"stream_out failed: no such file or directory in the container: {path}"
        )
        return
    streamed = members(client.stream_out(container, path))
    assert streamed["hostname"][1] == run_ok(client, container, "cat /etc/hostname")
    assert streamed["hostname"][1] != Path("/etc/hostname").read_bytes()
    one_file = archive(lambda made: add(made, "pwned", data=b"x"))
    # vcap may not write the container's /etc, and the host's is never reached.
    refused = error_of(client.stream_in, container, f"{home}/etc-link", one_file)
    assert refused.startswith("stream_in failed: tar: ")
    assert not Path("/etc/pwned").exists()


def test_bad_paths_and_broken_streams_say_why(
    backend: Backend, client: Client, container: str
) -> None:
    home = backend.home.rstrip("/")
    run_ok(client, container, "echo x > file")
    one_file = archive(lambda made: add(made, "f", data=b"x"))
    assert error_of(client.stream_in, container, f"{home}/file/sub", one_file).startswith(
        f"stream_in failed: cannot create the directory {home}/file/sub in the container"
    )
    assert error_of(lambda: list(client.stream_out(container, f"{home}/none"))) == (
        f"stream_out failed: no such file or directory in the container: {home}/none"
    )
    broken = io.BytesIO(b"\x00garbage" * 100000)
    message = error_of(client.stream_in, container, f"{home}/broken", broken)
    assert message.startswith("stream_in failed: tar: ")
    assert "does not look like a tar archive" in message
    # The connection is still in step, and the container unharmed.
    assert client.echo("after", timeout=REQUEST_TIMEOUT).message == "after"
    one_file.seek(0)
    client.stream_in(container, f"{home}/good", one_file)
    assert run_ok(client, container, "cat good/f") == b"x"


def test_the_disk_limit_stops_an_extraction(
    backend: Backend, client: Client, make_container: object, tmp_path: Path
) -> None:
    handle = make_container()  # type: ignore[operator]
    if backend.kind == "insecure":  # no disk limit there: it says so
        assert error_of(client.limit_disk, handle, byte_limit=8 * MIB) == "not implemented"
        return
    client.limit_disk(handle, byte_limit=8 * MIB, timeout=REQUEST_TIMEOUT)
    large = tmp_path / "large"
    large.write_bytes(os.urandom(MIB) * 20)
    source = tmp_path / "large.tar"
    with tarfile.open(source, "w") as made:
        made.add(large, "large")
    with source.open("rb") as stream:
        message = error_of(client.stream_in, handle, "/home/vcap/full", stream)
    assert message.startswith("stream_in failed: tar: ")
    assert "No space left on device" in message or "Disk quota exceeded" in message
    assert client.ping(timeout=REQUEST_TIMEOUT).ByteSize() == 0


# -- the Twisted client and the shell, on both backends --


@pytest.fixture(scope="module")
def reactor_thread() -> Iterator[Any]:
    """The global reactor, run in a daemon thread that is left running.

    A reactor cannot restart, and pytest may tear this module's fixtures
    down and set them up again when it groups tests by backend across
    modules: stopping it here would leave the next setup waiting forever.
    """
    from twisted.internet import reactor

    running: Any = reactor
    if not running.running:  # else another suite's thread runs it already
        thread = threading.Thread(target=running.run, kwargs={"installSignalHandlers": False})
        thread.daemon = True
        thread.start()
        while not running.running:
            time.sleep(0.01)
    yield running


def test_the_twisted_client_streams_in_and_out(
    backend: Backend, client: Client, container: str, reactor_thread: Any, tmp_path: Path
) -> None:
    from twisted.internet import defer
    from twisted.internet.threads import blockingCallFromThread

    from warden.twisted_client import connect

    home = backend.home.rstrip("/")
    payload = os.urandom(MIB) * 3
    source = archive(lambda made: add(made, "big", data=payload, mode=0o640))

    async def session() -> tuple[bytes, str]:
        connection = await connect(reactor_thread, backend.server.socket_path)
        try:
            answer = await connection.stream_in(container, f"{home}/tw", source, window=2)
            assert answer.done
            chunks: list[bytes] = []
            final = await connection.stream_out(container, f"{home}/tw/big", chunks.append)
            assert final.done and len(chunks) > 1
            try:
                await connection.stream_out(container, f"{home}/tw/none", chunks.append)
            except ServerError as error:
                failed = error.message
            else:
                failed = ""
            await connection.ping()  # still in step
            return b"".join(chunks), failed
        finally:
            await connection.disconnect()

    streamed, failed = blockingCallFromThread(
        reactor_thread, lambda: defer.ensureDeferred(session()).addTimeout(120, reactor_thread)
    )
    (member, data) = members(iter([streamed]))["big"]
    assert (data == payload, stat.S_IMODE(member.mode)) == (True, 0o640)
    missing = f"{home}/tw/none"
    assert failed == f"stream_out failed: no such file or directory in the container: {missing}"


def warden_tool(socket_path: str, *command: str) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).parent / "warden"
    return subprocess.run(
        [str(tool), "--socket", socket_path, "--", *command],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_shell_streams_in_and_out(
    backend: Backend, client: Client, container: str, tmp_path: Path
) -> None:
    home = backend.home.rstrip("/")
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "script").write_text("#!/bin/sh\necho from the shell\n")
    (tree / "script").chmod(0o755)
    socket_path = backend.server.socket_path
    done = warden_tool(socket_path, "stream_in", "--handle", container, "--src", str(tree),
                       "--dst", f"{home}/sh")  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "done : true\n"), done.stderr
    assert run_ok(client, container, "sh/script") == b"from the shell\n"
    target = tmp_path / "out.tar"
    done = warden_tool(socket_path, "stream_out", "--handle", container, "--src",
                       f"{home}/sh/", "--dst", str(target))  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "done : true\n"), done.stderr
    with tarfile.open(target) as read:
        assert stat.S_IMODE(read.getmember("./script").mode) == 0o755
    done = warden_tool(socket_path, "stream_in", "--handle", container, "--src", str(target),
                       "--dst", f"{home}/sh/script/x")  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("stream_in failed: cannot create the directory")
