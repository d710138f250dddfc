"""The ``warden`` tool as a subprocess: options, one command after ``--``."""

from __future__ import annotations

import os
import subprocess
import tarfile
import time
from pathlib import Path

from .conftest import Server, run_warden, warden_command
from .test_commands import ALL_COMMANDS


def test_help_lists_options_and_commands(home: Path) -> None:
    done = run_warden("--help", home=home)
    assert done.returncode == 0
    text = done.stdout.decode()
    assert text.startswith("Usage: warden [options] -- [commands]\n")
    for option in ("--socket PATH", "--trace", "--exit_on_error", "--help"):
        assert f"\n    {option} " in text
    for name in ALL_COMMANDS:
        assert f"\n\t{name:<29}" in text
    assert done.stderr == b""


def test_abbreviated_options(home: Path, server: Server) -> None:
    done = run_warden(
        "--sock", server.socket_path, "--tr", "--", "echo", "--message", "x", home=home
    )
    assert (done.returncode, done.stdout) == (0, b"+ echo --message x\nmessage : x\n")
    done = run_warden(f"--socket={server.socket_path}", "--", "ping", home=home)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_bad_options_exit_2(home: Path) -> None:
    cases = {
        ("--socket",): "warden: missing argument: --socket\n",
        ("--blah",): "warden: invalid option: --blah\n",
        ("-h",): "warden: invalid option: -h\n",
        ("--", "ping", "--"): "warden: Delimiter: '--' specified multiple times.\n",
        ("ping",): "warden: unexpected argument: 'ping' (put the command after '--')\n",
        ("--trace=yes",): "warden: needless argument: --trace=yes\n",
    }
    for arguments, message in cases.items():
        done = run_warden(*arguments, home=home)
        assert done.returncode == 2, arguments
        assert done.stderr.decode() == message + "Try 'warden --help'.\n"
        assert done.stdout == b""


def test_no_server_is_an_error(home: Path, tmp_path: Path) -> None:
    done = run_warden("--socket", str(tmp_path / "absent.sock"), "--", "ping", home=home)
    assert done.returncode == 1
    assert done.stderr.decode() == (
        f"cannot connect to {tmp_path / 'absent.sock'}: No such file or directory\n"
    )


def test_help_needs_no_server(home: Path, tmp_path: Path) -> None:
    absent = str(tmp_path / "absent.sock")
    done = run_warden("--socket", absent, "--", "help", home=home)
    assert done.returncode == 0
    assert done.stdout.decode().startswith("\n\tbulk_info ")
    done = run_warden("--socket", absent, "--", "create", "--help", home=home)
    assert done.returncode == 0
    assert done.stdout.decode().startswith("command: create\n")


class Tool:
    """The tool pointed at one server."""

    def __init__(self, server: Server, home: Path) -> None:
        self.server = server
        self.home = home

    def __call__(self, *command: str, expect: int = 0) -> tuple[str, str]:
        done = run_warden("--socket", self.server.socket_path, "--", *command, home=self.home)
        assert done.returncode == expect, (command, done)
        return done.stdout.decode(), done.stderr.decode()


def test_every_command_once(server: Server, home: Path, tmp_path: Path) -> None:
    warden = Tool(server, home)
    assert warden("ping") == ("", "")
    assert warden("echo", "--message", "a 'quoted' message") == (
        "message : a 'quoted' message\n",
        "",
    )
    out, _ = warden("create", "--handle", "repl-one", "--grace_time", "30")
    assert out == "handle : repl-one\n"
    out, _ = warden("list")
    assert "handles[0] : repl-one\n" in out or "] : repl-one\n" in out
    out, _ = warden("info", "--handle", "repl-one")
    assert out.startswith("state : active\n")

    out, _ = warden("spawn", "--handle", "repl-one", "--script", "echo spawned; exit 6")
    assert out.startswith("job_id : ")
    job_id = out.split(" : ")[1].strip()
    assert warden("link", "--handle", "repl-one", "--job_id", job_id, expect=6) == (
        "spawned\n",
        "",
    )

    out, _ = warden("spawn", "--handle", "repl-one", "--script", "echo a; echo b >&2; exit 2")
    job_id = out.split(" : ")[1].strip()
    # stream prints the output; its exit status is not the tool's (as the original).
    assert warden("stream", "--handle", "repl-one", "--job_id", job_id) == ("a\n", "b\n")

    assert warden(
        "run", "--handle", "repl-one", "--script", "echo out; echo err >&2; exit 3", expect=3
    ) == ("out\n", "err\n")

    out, _ = warden("net_in", "--handle", "repl-one")
    assert out.startswith("host_port : ")
    assert "container_port : " in out

    source = tmp_path / "in.txt"
    source.write_text("copied\n")
    warden("copy_in", "--handle", "repl-one", "--src_path", str(source), "--dst_path", "/in.txt")
    assert warden("run", "--handle", "repl-one", "--script", "cat in.txt") == ("copied\n", "")
    warden("run", "--handle", "repl-one", "--script", "echo back > out.txt")
    target = tmp_path / "out.txt"
    warden("copy_out", "--handle", "repl-one", "--src_path", "/out.txt", "--dst_path", str(target))
    assert target.read_text() == "back\n"

    # The insecure backend has no networking or limits; the requests get there all the same.
    for command in (
        ["net_out", "--handle", "repl-one", "--network", "10.0.0.0/8", "--protocol", "udp"],
        ["limit_memory", "--handle", "repl-one", "--limit_in_bytes", "1048576"],
        ["limit_disk", "--handle", "repl-one", "--byte_limit", "1048576"],
        ["limit_bandwidth", "--handle", "repl-one", "--rate", "1000", "--burst", "100"],
        ["limit_cpu", "--handle", "repl-one", "--limit_in_shares", "10"],
    ):
        assert warden(*command, expect=1) == ("", "not implemented\n"), command

    assert warden("stop", "--handle", "repl-one", "--kill") == ("", "")
    out, _ = warden("info", "--handle", "repl-one")
    assert out.startswith("state : stopped\n")
    assert warden("destroy", "--handle", "repl-one") == ("", "")
    assert warden("info", "--handle", "repl-one", expect=1) == ("", "unknown handle\n")


def test_nested_and_repeated_flags_reach_the_server(server: Server, home: Path) -> None:
    warden = Tool(server, home)
    out, _ = warden(
        "create",
        "--handle", "repl-flags",
        "--bind_mounts[0].src_path", "/tmp",
        "--bind_mounts[0].dst_path", "/mnt/a",
        "--bind_mounts[0].mode", "ro",
        "--bind_mounts[1].src_path", "/var",
        "--bind_mounts[1].dst_path", "/mnt/b",
        "--bind_mounts[1].mode", "RW",
    )  # fmt: skip
    assert out == "handle : repl-flags\n"
    assert warden(
        "run",
        "--handle", "repl-flags",
        "--script", "ulimit -n; ulimit -c",
        "--rlimits.nofile", "64",
        "--rlimits.core", "0",
    ) == ("64\n0\n", "")  # fmt: skip
    assert warden(
        "run", "--handle", "repl-flags", "--script", "echo gone; exit 5", "--discard_output",
        expect=5,
    ) == ("", "")  # fmt: skip
    warden("destroy", "--handle", "repl-flags")


def test_command_errors_exit_1(server: Server, home: Path) -> None:
    warden = Tool(server, home)
    assert warden("bogus", expect=1) == ("", "Command: 'bogus' is non-existent.\n")
    assert warden("echo", expect=1) == ("", "Missing required flag: '--message'.\n")
    assert warden("echo", "message", "x", expect=1) == ("", "Invalid flag: 'message'.\n")
    assert warden("create", "--grace_time", "soon", expect=1) == (
        "",
        "In flag: '--grace_time', invalid value for Integer(): \"soon\" "
        "(expected an integer from 0 to 4294967295)\n",
    )
    assert warden("destroy", "--handle", "nothing-here", expect=1) == ("", "unknown handle\n")


def test_words_after_the_delimiter_are_not_split_again(server: Server, home: Path) -> None:
    warden = Tool(server, home)
    assert warden("echo", "--message", "a  b 'c'") == ("message : a  b 'c'\n", "")


def test_trace_comes_before_the_output(server: Server, home: Path) -> None:
    done = run_warden(
        "--socket", server.socket_path, "--trace", "--", "echo", "--message", "hi", home=home
    )
    assert done.stdout == b"+ echo --message hi\nmessage : hi\n"
    done = run_warden("--trace", "--", "help", home=home)
    assert done.stdout.startswith(b"+ help\n\n\tbulk_info")


def test_job_output_bytes_are_passed_through(server: Server, home: Path) -> None:
    warden = Tool(server, home)
    warden("create", "--handle", "repl-bytes")
    done = run_warden(
        "--socket",
        server.socket_path,
        "--",
        "run",
        "--handle",
        "repl-bytes",
        "--script",
        "printf '\\377\\000\\303\\251'; printf '\\376' >&2",
        home=home,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, b"\xff\x00\xc3\xa9", b"\xfe")
    warden("destroy", "--handle", "repl-bytes")


def test_a_closed_output_ends_the_tool_quietly(server: Server, home: Path) -> None:
    warden = Tool(server, home)
    warden("create", "--handle", "repl-pipe")
    tool = subprocess.Popen(
        [*warden_command(), "--socket", server.socket_path, "--", "run", "--handle",
         "repl-pipe", "--script", "for i in $(seq 200); do seq 1000; done"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "HOME": str(home)},
    )  # fmt: skip
    assert tool.stdout is not None and tool.stderr is not None
    assert tool.stdout.read(2) == b"1\n"
    tool.stdout.close()  # as `warden ... | head -1` does
    assert tool.wait(timeout=60) == 141
    assert tool.stderr.read() == b""
    tool.stderr.close()
    warden("destroy", "--handle", "repl-pipe")


def test_an_argument_that_is_not_utf8(server: Server, home: Path) -> None:
    done = subprocess.run(
        [*warden_command(), "--socket", server.socket_path, "--", "echo", "--message", b"\xff"],
        capture_output=True,
        env={**os.environ, "HOME": str(home)},
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, b"")
    assert done.stderr == b"In flag: '--message', the value is not valid UTF-8: b'\\xff'\n"


def test_extension_commands(server: Server, home: Path) -> None:
    warden = Tool(server, home)
    out, _ = warden(
        "create", "--handle", "repl-ext", "--properties", "team=blue", "--properties", "tier=web"
    )
    assert out == "handle : repl-ext\n"
    warden("create", "--handle", "repl-other", "--properties[0].key", "team",
           "--properties[0].value", "red")  # fmt: skip
    assert warden("set_property", "--handle", "repl-ext", "--key", "owner", "--value", "a=b") == (
        "",
        "",
    )
    assert warden("get_property", "--handle", "repl-ext", "--key", "owner") == ("value : a=b\n", "")
    assert warden("list", "--properties", "team=blue") == ("handles[0] : repl-ext\n", "")
    assert warden("list", "--properties", "team=red", "--properties", "tier=web") == ("", "")
    out, _ = warden("info", "--handle", "repl-ext")
    assert "properties[0].key : team\nproperties[0].value : blue\n" in out
    assert "properties[2].key : owner\nproperties[2].value : a=b\n" in out
    assert warden("remove_property", "--handle", "repl-ext", "--key", "owner") == ("", "")
    assert warden("get_property", "--handle", "repl-ext", "--key", "owner", expect=1) == (
        "",
        "unknown property: 'owner'\n",
    )
    assert warden("create", "--properties", "novalue", expect=1) == (
        "",
        "In flag: '--properties', expected KEY=VALUE, got 'novalue'.\n",
    )

    out, _ = warden("bulk_info", "--handles", "repl-ext", "--handles", "absent")
    assert out.startswith("entries[0].handle : repl-ext\nentries[0].info.state : active\n")
    assert out.endswith("entries[1].handle : absent\nentries[1].error : unknown handle\n")
    out, _ = warden("bulk_info")
    assert "handle : repl-other\n" in out

    out, _ = warden(
        "spawn", "--handle", "repl-ext", "--script",
        "trap 'echo got-usr1; exit 7' USR1; echo ready; while :; do sleep 0.05; done",
    )  # fmt: skip
    job_id = out.split(" : ")[1].strip()
    stdout = Path(server.directory) / "depot"
    wait_for_file_text(stdout, job_id, "ready")
    assert warden("signal", "--handle", "repl-ext", "--job_id", job_id, "--signal", "SIGUSR1") == (
        "",
        "",
    )
    assert warden("link", "--handle", "repl-ext", "--job_id", job_id, expect=7)[0] == (
        "ready\ngot-usr1\n"
    )
    _, err = warden("signal", "--handle", "repl-ext", "--job_id", job_id, "--signal", "nope",
                    expect=1)  # fmt: skip
    assert err == "unknown signal 'nope' (allowed: TERM, KILL, INT, HUP, QUIT, USR1, USR2)\n"

    out, _ = warden("capacity")
    lines = out.splitlines()
    assert [line.split(" : ")[0] for line in lines] == [
        "memory_in_bytes", "disk_in_bytes", "max_containers",
    ]  # fmt: skip
    assert all(int(line.split(" : ")[1]) > 0 for line in lines)
    for handle in ("repl-ext", "repl-other"):
        warden("destroy", "--handle", handle)


def wait_for_file_text(depot: Path, job_id: str, text: str) -> None:
    """Until a job of the depot printed ``text`` (its traps are set by then)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for stdout in depot.glob(f"*/jobs/{job_id}/stdout"):
            if text in stdout.read_text():
                return
        time.sleep(0.02)
    raise AssertionError(f"no job {job_id} printed {text!r}")


def test_tar_streams_in_and_out(server: Server, home: Path, tmp_path: Path) -> None:
    warden = Tool(server, home)
    warden("create", "--handle", "tars")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "file").write_text("from a directory\n")
    (tree / "sub" / "link").symlink_to("file")
    assert warden("stream_in", "--handle", "tars", "--src", str(tree), "--dst", "/in") == (
        "done : true\n",
        "",
    )
    assert warden("run", "--handle", "tars", "--script", "cat in/sub/link") == (
        "from a directory\n",
        "",
    )
    archive = tmp_path / "out.tar"
    assert warden("stream_out", "--handle", "tars", "--src", "/in/sub", "--dst", str(archive)) == (
        "done : true\n",
        "",
    )
    with tarfile.open(archive) as read:
        assert sorted(read.getnames()) == ["sub", "sub/file", "sub/link"]
    # A tar file goes in as it is.
    assert warden("stream_in", "--handle", "tars", "--src", str(archive), "--dst", "/again") == (
        "done : true\n",
        "",
    )
    assert warden("run", "--handle", "tars", "--script", "cat again/sub/file") == (
        "from a directory\n",
        "",
    )
    # Failures say why; no partial file is left.
    (tmp_path / "broken.tar").write_bytes(b"not a tar archive\n" * 1000)
    _, err = warden(
        "stream_in", "--handle", "tars", "--src", str(tmp_path / "broken.tar"), "--dst", "/b",
        expect=1,
    )  # fmt: skip
    assert err.startswith("stream_in failed: tar: This does not look like a tar archive")
    missing = tmp_path / "missing.tar"
    assert warden(
        "stream_out", "--handle", "tars", "--src", "/none", "--dst", str(missing), expect=1
    ) == ("", "stream_out failed: no such file or directory in the container: /none\n")
    assert not missing.exists()
    assert warden(
        "stream_in", "--handle", "tars", "--src", str(tmp_path / "none"), "--dst", "/x", expect=1
    ) == ("", f"cannot read {tmp_path / 'none'}: No such file or directory\n")
