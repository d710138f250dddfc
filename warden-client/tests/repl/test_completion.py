"""Tab completion of command names, flags and enum values."""

from __future__ import annotations

import io

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from warden.client import Client, ClientConnectionError, ServerError
from warden.client._repl._completion import WardenCompleter
from warden.client._repl._execute import Executor
from warden.client._repl._handles import LiveHandles
from warden.client._repl._output import Output

from .conftest import Server
from .test_commands import ALL_COMMANDS


def complete(text: str) -> list[str]:
    """What Tab offers with the cursor at the end of ``text``, as the line would read."""
    completions = WardenCompleter().get_completions(
        Document(text), CompleteEvent(completion_requested=True)
    )
    out = []
    for completion in completions:
        assert completion.start_position <= 0
        out.append(text[: len(text) + completion.start_position] + completion.text)
    return out


def test_all_command_names_and_help() -> None:
    assert complete("") == [*ALL_COMMANDS, "help"]
    assert complete("  ") == ["  " + name for name in [*ALL_COMMANDS, "help"]]


def test_command_name_prefixes_in_any_case() -> None:
    assert complete("li") == [
        "limit_bandwidth", "limit_cpu", "limit_disk", "limit_memory", "link", "list",
    ]  # fmt: skip
    assert complete("LIMIT_B") == ["limit_bandwidth"]
    assert complete("he") == ["help"]
    assert complete("zz") == []


def test_help_completes_command_names() -> None:
    assert complete("help net") == ["help net_in", "help net_out"]
    assert complete("help net_in ") == []


def test_flags_of_a_command() -> None:
    assert complete("echo ") == ["echo --message", "echo --help"]
    assert complete("echo --m") == ["echo --message"]
    assert complete("ECHO --m") == ["ECHO --message"]
    assert complete("stop --handle h ") == [
        "stop --handle h --handle",
        "stop --handle h --background",
        "stop --handle h --kill",
        "stop --handle h --help",
    ]
    assert complete("frobnicate --") == []


def test_nested_flags_are_whole_paths() -> None:
    assert "run --rlimits.nofile" in complete("run --rl")
    assert complete("run --rlimits.nof") == ["run --rlimits.nofile"]


def test_repeated_flags_offer_the_last_and_the_next_index() -> None:
    assert complete("create --bind") == [
        "create --bind_mounts[0].src_path",
        "create --bind_mounts[0].dst_path",
        "create --bind_mounts[0].mode",
    ]
    line = "create --bind_mounts[0].src_path /a "
    assert complete(line + "--bind") == [
        line + "--bind_mounts[0].src_path",
        line + "--bind_mounts[0].dst_path",
        line + "--bind_mounts[0].mode",
        line + "--bind_mounts[1].src_path",
        line + "--bind_mounts[1].dst_path",
        line + "--bind_mounts[1].mode",
    ]


def test_values_of_enum_flags_and_none_for_other_values() -> None:
    assert complete("create --bind_mounts[0].mode ") == [
        "create --bind_mounts[0].mode RO",
        "create --bind_mounts[0].mode RW",
    ]
    assert complete("net_out --handle h --protocol i") == ["net_out --handle h --protocol ICMP"]
    assert complete("echo --message ") == []
    assert complete("echo --message hel") == []


def test_a_bool_flag_takes_no_value() -> None:
    assert "spawn --privileged --script" in complete("spawn --privileged ")


def test_quoted_values_count_as_one_word() -> None:
    line = "run --script 'echo a b' "
    assert line + "--handle" in complete(line)
    assert complete("run --script 'echo a") == []  # inside the quote


# -- live handles after --handle --


def complete_with(handles: LiveHandles, text: str) -> list[str]:
    completions = WardenCompleter(handles).get_completions(
        Document(text), CompleteEvent(completion_requested=True)
    )
    return [text[: len(text) + c.start_position] + c.text for c in completions]


class FakeList:
    """A List that answers ``handles``, or raises ``error``; counts its calls."""

    def __init__(self, handles: list[str], error: BaseException | None = None) -> None:
        self.handles = handles
        self.error = error
        self.calls = 0

    def __call__(self) -> list[str]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return list(self.handles)


def test_handle_values_complete_to_live_handles() -> None:
    listed = FakeList(["web-2", "db-1", "web-1"])
    handles = LiveHandles(listed)
    assert complete_with(handles, "info --handle ") == [
        "info --handle db-1", "info --handle web-1", "info --handle web-2",
    ]  # fmt: skip
    assert complete_with(handles, "run --handle we") == ["run --handle web-1", "run --handle web-2"]
    assert complete_with(handles, "info --handle x") == []
    # Only the --handle flag's value: other strings complete to nothing.
    assert complete_with(handles, "echo --message ") == []


def test_the_list_is_kept_briefly() -> None:
    now = [100.0]
    listed = FakeList(["a"])
    handles = LiveHandles(listed, kept_for=2.0, clock=lambda: now[0])
    assert handles() == ["a"] and handles() == ["a"]
    listed.handles = ["a", "b"]
    now[0] += 1.9
    assert handles() == ["a"] and listed.calls == 1
    now[0] += 0.2
    assert handles() == ["a", "b"] and listed.calls == 2


@pytest.mark.parametrize(
    "error",
    [
        ClientConnectionError("cannot connect to /nowhere"),
        ServerError("no"),
        OSError(111, "Connection refused"),
    ],
)
def test_a_failing_list_completes_nothing(error: BaseException) -> None:
    handles = LiveHandles(FakeList([], error))
    assert complete_with(handles, "info --handle ") == []


def test_handles_come_from_the_server(server: Server) -> None:
    out, err = io.BytesIO(), io.BytesIO()
    with Client(server.socket_path) as client:
        client.create(handle="complete-me")
        executor = Executor(client, Output(out, err))
        handles = LiveHandles(executor.list_handles)
        assert complete_with(handles, "stop --handle comp") == ["stop --handle complete-me"]
        client.destroy("complete-me")
    # No server at all: nothing offered, nothing printed.
    lost = Executor(Client(server.socket_path + ".gone"), Output(out, err))
    assert complete_with(LiveHandles(lost.list_handles), "stop --handle ") == []
    assert (out.getvalue(), err.getvalue()) == (b"", b"")


def test_bulk_info_handles_complete_to_live_handles() -> None:
    handles = LiveHandles(FakeList(["web-2", "db-1"]))
    assert complete_with(handles, "bulk_info --handles ") == [
        "bulk_info --handles db-1", "bulk_info --handles web-2",
    ]  # fmt: skip
    assert complete_with(handles, "bulk_info --handles[0] w") == ["bulk_info --handles[0] web-2"]


def test_extension_flags_complete() -> None:
    assert complete("signal --handle h --job_id 1 --s") == ["signal --handle h --job_id 1 --signal"]
    assert complete("create --prop") == [
        "create --properties[0].key",
        "create --properties[0].value",
    ]
    assert complete("set_property --handle h --") == [
        "set_property --handle h --handle",
        "set_property --handle h --key",
        "set_property --handle h --value",
        "set_property --handle h --help",
    ]


def test_signal_names_complete() -> None:
    line = "signal --handle h --job_id 1 --signal "
    assert complete(line) == [
        line + n for n in ("TERM", "KILL", "INT", "HUP", "QUIT", "USR1", "USR2")
    ]
    assert complete(line + "us") == [line + "USR1", line + "USR2"]
