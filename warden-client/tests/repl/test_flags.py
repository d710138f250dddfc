"""The flag syntax of the original: nested, repeated, bools, enums, errors."""

from __future__ import annotations

import pytest

from warden.client._repl._errors import FlagError
from warden.client._repl._flags import (
    FlagElement,
    is_flag,
    missing_required_flags,
    parse_flag,
    populate,
)
from warden.protocol import (
    BulkInfoRequest,
    CreateRequest,
    EchoRequest,
    InfoResponse,
    LimitMemoryRequest,
    ListRequest,
    NetOutRequest,
    SpawnRequest,
    StopRequest,
)


def test_parse_flag_splits_elements_and_indices() -> None:
    assert parse_flag("--a") == [FlagElement("a")]
    assert parse_flag("--bind_mounts[0].src_path") == [
        FlagElement("bind_mounts", 0),
        FlagElement("src_path"),
    ]
    assert parse_flag("--_A9[12].b") == [FlagElement("_A9", 12), FlagElement("b")]
    assert str(FlagElement("x", 3)) == "x[3]"
    assert str(FlagElement("x")) == "x"


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("blah", "Invalid flag: 'blah'."),
        ("--", "Invalid flag: '--'."),
        ("-x", "Invalid flag: '-x'."),
        ("--blah[0].-$%.foo", "In flag: '--blah[0].-$%.foo', Invalid flag element: '-$%'."),
        ("--field[bad]", "In flag: '--field[bad]', Invalid flag element: 'field[bad]'."),
        ("--field[-1]", "In flag: '--field[-1]', Invalid flag element: 'field[-1]'."),
        ("--field[0.5]", "In flag: '--field[0.5]', Invalid flag element: 'field[0'."),
        ("--[1]", "In flag: '--[1]', Invalid flag element: '[1]'."),
        ("--9a", "In flag: '--9a', Invalid flag element: '9a'."),
        ("--a..b", "In flag: '--a..b', Invalid flag element: ''."),
    ],
)
def test_malformed_flags_are_named(flag: str, message: str) -> None:
    with pytest.raises(FlagError) as caught:
        parse_flag(flag)
    assert str(caught.value) == message


def test_is_flag() -> None:
    assert is_flag("--a")
    assert is_flag("--help")
    assert not is_flag("--")
    assert not is_flag("-1")
    assert not is_flag("a --b")


def test_simple_nested_and_bool_fields() -> None:
    request = populate(
        SpawnRequest(),
        ["--handle", "h", "--script", "echo hi", "--privileged", "--rlimits.nofile", "1024"],
    )
    assert request == SpawnRequest(
        handle="h", script="echo hi", privileged=True, rlimits={"nofile": 1024}
    )


def test_repeated_messages_are_filled_one_element_at_a_time() -> None:
    request = populate(
        CreateRequest(),
        [
            "--bind_mounts[0].src_path", "/a",
            "--bind_mounts[0].dst_path", "/b",
            "--bind_mounts[0].mode", "RO",
            "--bind_mounts[1].src_path", "/c",
            "--bind_mounts[1].dst_path", "/d",
            "--bind_mounts[1].mode", "rw",
            "--grace_time", "10",
        ],
    )  # fmt: skip
    mode = CreateRequest.BindMount.Mode
    assert [(m.src_path, m.dst_path, m.mode) for m in request.bind_mounts] == [
        ("/a", "/b", mode.RO),
        ("/c", "/d", mode.RW),
    ]
    assert request.grace_time == 10
    assert request.IsInitialized()


def test_repeated_scalars_append_or_overwrite_the_last() -> None:
    # No request has a repeated scalar, so a response stands in.
    message = populate(InfoResponse(), ["--events[0]", "a", "--events[1]", "b", "--events[1]", "c"])
    assert list(message.events) == ["a", "c"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--handle", "a", "--handle", "b"], StopRequest(handle="b")),
        (["--handle", "a", "--kill", "--kill"], StopRequest(handle="a", kill=True)),
    ],
)
def test_later_flags_overwrite_earlier_ones(arguments: list[str], expected: StopRequest) -> None:
    assert populate(StopRequest(), arguments) == expected


def test_overwriting_nested_and_enum_fields() -> None:
    request = populate(
        NetOutRequest(),
        ["--protocol", "udp", "--protocol", "Icmp", "--icmp_type", "-1", "--icmp_code", "0x3"],
    )
    assert request.protocol == NetOutRequest.Protocol.ICMP
    assert (request.icmp_type, request.icmp_code) == (-1, 3)
    spawn = populate(SpawnRequest(), ["--rlimits.as", "1", "--rlimits.as", "2"])
    assert getattr(spawn.rlimits, "as") == 2


def test_a_value_may_contain_dashes_and_help() -> None:
    assert populate(EchoRequest(), ["--message", "ab --help"]).message == "ab --help"
    assert populate(EchoRequest(), ["--message", "-"]).message == "-"
    assert populate(EchoRequest(), ["--message", "--"]).message == "--"
    assert populate(EchoRequest(), ["--message", ""]).message == ""


def test_integers_are_range_checked() -> None:
    assert populate(LimitMemoryRequest(), ["--limit_in_bytes", str(2**64 - 1)]).limit_in_bytes == (
        2**64 - 1
    )
    with pytest.raises(FlagError) as caught:
        populate(LimitMemoryRequest(), ["--limit_in_bytes", str(2**64)])
    assert str(caught.value) == (
        f"In flag: '--limit_in_bytes', Value {2**64} for 'limit_in_bytes' is out of range "
        "for uint64 (expected an integer from 0 to 18446744073709551615)."
    )
    with pytest.raises(FlagError, match="out of range for int32"):
        populate(NetOutRequest(), ["--icmp_type", str(2**31)])
    with pytest.raises(FlagError, match="out of range for uint32"):
        populate(CreateRequest(), ["--grace_time", "-1"])


NOT_INDEXED_CORRECTLY = "the field: '{}' is not indexed correctly."
ERRORS = [
    (EchoRequest, "message", "Invalid flag: 'message'."),
    (EchoRequest, "--message", "Invalid flag: '--message'."),
    (EchoRequest, "--message --x", "Invalid flag: '--message'."),
    (EchoRequest, "help", "Invalid flag: 'help'."),
    (EchoRequest, "--bad v", "In flag: '--bad', the field: 'bad' is invalid."),
    (StopRequest, "--kill value", "Invalid flag: 'value'."),
    (
        CreateRequest,
        "--bind_mounts x",
        "In flag: '--bind_mounts', the field: 'bind_mounts' is not indexed.",
    ),
    (
        CreateRequest,
        "--bind_mounts.mode RO",
        "In flag: '--bind_mounts.mode', the field: 'bind_mounts' is not indexed.",
    ),
    (
        CreateRequest,
        "--bind_mounts[1].mode RO",
        "In flag: '--bind_mounts[1].mode', " + NOT_INDEXED_CORRECTLY.format("bind_mounts[1]"),
    ),
    (
        CreateRequest,
        "--bind_mounts[0].mode RO --bind_mounts[2].mode RO",
        "In flag: '--bind_mounts[2].mode', " + NOT_INDEXED_CORRECTLY.format("bind_mounts[2]"),
    ),
    (CreateRequest, "--bind_mounts[0] x", "Invalid flag: '--bind_mounts[0]'."),
    (
        CreateRequest,
        "--bind_mounts[0].absent x",
        "In flag: '--bind_mounts[0].absent', the field: 'absent' is invalid.",
    ),
    (
        CreateRequest,
        "--handle[0] x",
        "In flag: '--handle[0]', the field: 'handle[0]' is not repeated.",
    ),
    (CreateRequest, "--handle.x y", "In flag: '--handle.x', the field: 'x' is invalid."),
    (SpawnRequest, "--rlimits 5", "Invalid flag: '--rlimits'."),
    (SpawnRequest, "--HANDLE h", "In flag: '--HANDLE', the field: 'HANDLE' is invalid."),
    (
        CreateRequest,
        "--grace_time blah",
        "In flag: '--grace_time', invalid value for Integer(): \"blah\" "
        "(expected an integer from 0 to 4294967295)",
    ),
    (
        CreateRequest,
        "--grace_time 1.5",
        "In flag: '--grace_time', invalid value for Integer(): \"1.5\" "
        "(expected an integer from 0 to 4294967295)",
    ),
    (
        CreateRequest,
        "--bind_mounts[0].mode RX",
        "In flag: '--bind_mounts[0].mode', The constant: 'RX' is not defined in the module: "
        "'warden.CreateRequest.BindMount.Mode' (expected one of RO, RW).",
    ),
]


@pytest.mark.parametrize(("request_class", "arguments", "message"), ERRORS)
def test_errors_in_the_originals_words(
    request_class: type[EchoRequest], arguments: str, message: str
) -> None:
    with pytest.raises(FlagError) as caught:
        populate(request_class(), arguments.split())
    assert str(caught.value) == message


def test_missing_required_flags_are_listed_as_flags() -> None:
    assert missing_required_flags(SpawnRequest(privileged=True)) == ["--handle", "--script"]
    partial = populate(CreateRequest(), ["--bind_mounts[0].src_path", "/a"])
    assert missing_required_flags(partial) == [
        "--bind_mounts[0].dst_path",
        "--bind_mounts[0].mode",
    ]
    assert missing_required_flags(EchoRequest(message="")) == []


def test_values_that_are_not_utf8_are_refused() -> None:
    # Command-line bytes that are not UTF-8 reach Python as surrogates.
    value = b"caf\xe9".decode("utf-8", errors="surrogateescape")
    with pytest.raises(FlagError) as caught:
        populate(EchoRequest(), ["--message", value])
    assert str(caught.value) == "In flag: '--message', the value is not valid UTF-8: b'caf\\xe9'"


def test_properties_as_key_value_and_indexed() -> None:
    request = populate(
        CreateRequest(),
        ["--properties", "a=1", "--properties", "b=x=y", "--properties[2].key", "c",
         "--properties[2].value", "3", "--properties", "d="],
    )  # fmt: skip
    assert [(p.key, p.value) for p in request.properties] == [
        ("a", "1"), ("b", "x=y"), ("c", "3"), ("d", ""),
    ]  # fmt: skip
    assert [
        (p.key, p.value) for p in populate(ListRequest(), ["--properties", "k=v"]).properties
    ] == [("k", "v")]
    for bad in ("novalue", "=v"):
        with pytest.raises(FlagError) as caught:
            populate(CreateRequest(), ["--properties", bad])
        assert str(caught.value) == f"In flag: '--properties', expected KEY=VALUE, got '{bad}'."
    with pytest.raises(FlagError, match=r"Invalid flag: '--properties'\."):
        populate(CreateRequest(), ["--properties"])


def test_a_repeated_scalar_appends_without_an_index() -> None:
    request = populate(BulkInfoRequest(), ["--handles", "a", "--handles", "b", "--handles[2]", "c"])
    assert list(request.handles) == ["a", "b", "c"]
    # A repeated message other than properties still needs its index.
    with pytest.raises(FlagError, match="is not indexed"):
        populate(CreateRequest(), ["--bind_mounts", "x"])
