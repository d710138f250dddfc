"""The command table, command parsing and the help texts."""

from __future__ import annotations

import pytest

from warden.client._repl._commands import COMMANDS, lookup_command
from warden.client._repl._errors import CommandError
from warden.client._repl._help import command_help, global_help
from warden.client._repl._parse import (
    CommandHelp,
    GlobalHelp,
    Invocation,
    parse_command,
    split_line,
)
from warden.protocol import REQUEST_TYPES, CreateRequest, EchoRequest, RunRequest

ALL_COMMANDS = [
    "bulk_info", "capacity", "copy_in", "copy_out", "create", "destroy", "echo",
    "get_property", "info", "limit_bandwidth", "limit_cpu", "limit_disk", "limit_memory",
    "link", "list", "net_in", "net_out", "ping", "remove_property", "resize", "run",
    "set_property", "shell", "signal", "spawn", "stdin", "stop", "stream", "stream_in",
    "stream_out",
]  # fmt: skip


def test_every_request_type_is_a_command_with_a_description() -> None:
    assert list(COMMANDS) == ALL_COMMANDS
    # Every request type, and ``shell``: the tool's own (no request of that name).
    requests = {c.request_class for name, c in COMMANDS.items() if name != "shell"}
    assert requests == set(REQUEST_TYPES.values())
    assert all(c.description for c in COMMANDS.values())


def test_command_names_in_any_case() -> None:
    assert lookup_command("LIMIT_Bandwidth").name == "limit_bandwidth"
    with pytest.raises(CommandError) as caught:
        lookup_command("Absent_Command")
    assert str(caught.value) == "Command: 'absent_command' is non-existent."


def test_parse_command_kinds() -> None:
    assert parse_command(["help"]) == GlobalHelp()
    assert parse_command(["--HELP", "--whatever"]) == GlobalHelp()
    assert parse_command(["help", "CREATE"]) == CommandHelp(COMMANDS["create"])
    assert parse_command(["echo", "--message", "x", "--Help"]) == CommandHelp(COMMANDS["echo"])
    # --help anywhere, even where a value would go, asks for help (as the original).
    assert parse_command(["echo", "--message", "--help"]) == CommandHelp(COMMANDS["echo"])
    parsed = parse_command(["ECHO", "--message", "hi"])
    assert parsed == Invocation(COMMANDS["echo"], EchoRequest(message="hi"))
    with pytest.raises(CommandError, match=r"^Command: 'nope' is non-existent\.$"):
        parse_command(["help", "nope"])


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["echo"], "Missing required flag: '--message'."),
        (["run", "--privileged"], "Missing required flags: '--handle', '--script'."),
        (["stream", "help"], "Invalid flag: 'help'."),
        (["frobnicate"], "Command: 'frobnicate' is non-existent."),
    ],
)
def test_parse_errors(words: list[str], message: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(words)
    assert str(caught.value) == message


def test_run_parses_to_a_run_request() -> None:
    parsed = parse_command(["run", "--handle", "h", "--script", "ls", "--discard_output"])
    assert isinstance(parsed, Invocation)
    assert parsed.request == RunRequest(handle="h", script="ls", discard_output=True)


def test_split_line_uses_shell_quoting() -> None:
    assert split_line(" echo --message 'a b'  \"c d\" e\\ f ") == [
        "echo", "--message", "a b", "c d", "e f",
    ]  # fmt: skip
    with pytest.raises(CommandError, match="No closing quotation"):
        split_line("echo --message 'open")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        # Inside double quotes a backslash escapes what a shell's does, only.
        ('run --script "echo tick \\$HOME"', ["run", "--script", "echo tick $HOME"]),
        ('x "a\\"b" "c\\\\d" "e\\nf" "g\\`h"', ["x", 'a"b', "c\\d", "e\\nf", "g`h"]),
        # Single quotes keep everything; outside quotes a backslash quotes one character.
        ("x 'a\\$b' c\\$d \\'e", ["x", "a\\$b", "c$d", "'e"]),
        ("x a\"b c\"'d e'f", ["x", "ab cd ef"]),
        ("x \"\" ''", ["x", "", ""]),
        ("x a\\\nb", ["x", "ab"]),
    ],
)
def test_split_line_splits_as_a_posix_shell(line: str, words: list[str]) -> None:
    assert split_line(line) == words


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('echo "open', "No closing quotation"),
        ('echo "open\\"', "No closing quotation"),
        ("echo trailing\\", "No escaped character"),
    ],
)
def test_split_line_refuses_open_quotes(line: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        split_line(line)


def test_global_help_lists_every_command_then_help() -> None:
    text = global_help()
    lines = text.split("\n")
    assert lines[0] == ""
    width = len("limit_bandwidth") + 2
    count = len(ALL_COMMANDS)
    for line, name in zip(lines[1 : count + 1], ALL_COMMANDS, strict=True):
        assert line == f"\t{name:<{width}}{COMMANDS[name].description}"
    assert lines[count + 1].startswith(f"\t{'help':<{width}}")
    assert lines[count + 2] == ""
    assert "--help" in lines[count + 3]
    assert text.endswith("\n")
    assert global_help(30).split("\n")[3] == f"\t{'copy_in':<30}{COMMANDS['copy_in'].description}"


def test_command_help_of_a_command_without_fields() -> None:
    assert command_help(COMMANDS["ping"]) == (
        f"command: ping\ndescription: {COMMANDS['ping'].description}\n"
    )


def test_command_help_layout() -> None:
    text = command_help(COMMANDS["echo"])
    assert text == (
        "command: echo\n"
        f"description: {COMMANDS['echo'].description}\n"
        "usage: echo [options]\n"
        "\n"
        "[options] can be one of the following:\n"
        "\n"
        "\t--message <message> (string)  # required: the message\n"
    )


def test_command_help_groups_required_repeated_optional_and_nests() -> None:
    lines = command_help(COMMANDS["create"]).split("\n")[6:]
    assert lines[:7] == [
        "\t--bind_mounts[index]  # array: host directories to mount in the container (linux)",
        "\t\t.src_path <src_path> (string)  # required: the directory on the host",
        "\t\t.dst_path <dst_path> (string)  # required: where it appears in the container",
        "\t\t.mode <mode> (RO, RW)  # required: read-only or read-write",
        "\t--properties[index]  # array: labels to keep with the container (or KEY=VALUE)",
        "\t\t.key <key> (string)  # required: the property's name",
        "\t\t.value <value> (string)  # required: the property's value",
    ]
    assert lines[7].startswith("\t[--grace_time <grace_time> (uint32)]  # optional: ")
    assert [line.split()[0] for line in lines[8:11]] == ["[--handle", "[--network", "[--rootfs"]

    spawn = command_help(COMMANDS["spawn"]).split("\n")[6:]
    flags = [line.strip().split()[0] for line in spawn if line]
    assert flags[:4] == ["--handle", "--script", "[--privileged]", "[--rlimits]"]
    assert "\t\t[.nofile <nofile> (uint64)]  # optional: RLIMIT_NOFILE" in spawn
    assert flags[-6:] == [
        "[--discard_output]", "[--log_tag", "[--stdin]", "[--tty]", ".rows", ".columns",
    ]  # fmt: skip

    net_out = command_help(COMMANDS["net_out"])
    assert "\t[--protocol <protocol> (ALL, ICMP, TCP, UDP)]  # optional: " in net_out
    assert "\t[--icmp_type <icmp_type> (int32)]  # optional: " in net_out
    assert "\t[--log]  # optional: " in net_out


def test_every_request_field_has_a_description() -> None:
    for command in COMMANDS.values():
        for line in command_help(command).split("\n")[6:]:
            if line:
                assert ": " in line.split("  # ", 1)[1], (command.name, line)


def test_create_request_descriptor_order_is_schema_order() -> None:
    # The help relies on descriptor order being the schema's.
    assert [f.name for f in CreateRequest.DESCRIPTOR.fields] == [
        "bind_mounts", "grace_time", "handle", "network", "rootfs", "properties",
    ]  # fmt: skip


def test_stream_in_and_stream_out_take_local_paths() -> None:
    parsed = parse_command(["stream_in", "--handle", "h", "--src", "a.tar", "--dst", "/x"])
    assert isinstance(parsed, Invocation)
    assert (parsed.request.handle, parsed.request.src, parsed.request.dst) == ("h", "a.tar", "/x")
    assert parsed.command.request_class is REQUEST_TYPES[108]
    with pytest.raises(CommandError, match=r"Missing required flags: '--src', '--dst'\."):
        parse_command(["stream_out", "--handle", "h"])
    with pytest.raises(CommandError, match="the field: 'data' is invalid"):
        parse_command(["stream_in", "--data", "x"])
    text = command_help(COMMANDS["stream_out"])
    assert text.startswith(
        f"command: stream_out\ndescription: {COMMANDS['stream_out'].description}\n"
    )
    assert "\t--src <src> (string)  # required: the path in the container" in text
    assert "\t--dst <dst> (string)  # required: the local file the tar stream is written to" in text
