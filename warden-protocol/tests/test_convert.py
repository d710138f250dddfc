"""Text to field values."""

from __future__ import annotations

import pytest

import warden.protocol as wp


def field(cls: type, name: str):  # type: ignore[no-untyped-def]
    return cls.DESCRIPTOR.fields_by_name[name]


def test_bool() -> None:
    assert wp.convert_text(field(wp.StopRequest, "kill"), "TRUE") is True
    assert wp.convert_text(field(wp.StopRequest, "kill"), "false") is False
    words = r"Expected 'true' or 'false', but received: 'yes'\."
    with pytest.raises(wp.ConversionError, match=words) as info:
        wp.convert_text(field(wp.StopRequest, "kill"), "yes")
    assert info.value.field == "kill"


def test_integers_with_range_checks() -> None:
    grace = field(wp.CreateRequest, "grace_time")
    assert wp.convert_text(grace, "10") == 10
    assert wp.convert_text(grace, "0x10") == 16
    assert wp.convert_text(grace, "010") == 10
    with pytest.raises(wp.ConversionError, match='invalid value for Integer\\(\\): "blah"'):
        wp.convert_text(grace, "blah")
    with pytest.raises(wp.ConversionError, match="out of range for uint32") as info:
        wp.convert_text(grace, "4294967296")
    assert info.value.field == "grace_time"
    assert "0 to 4294967295" in info.value.expected
    with pytest.raises(wp.ConversionError, match="out of range"):
        wp.convert_text(grace, "-1")
    assert wp.convert_text(field(wp.NetOutRequest, "icmp_type"), "-1") == -1
    limit = field(wp.LimitMemoryRequest, "limit_in_bytes")
    assert wp.convert_text(limit, str(2**64 - 1)) == 2**64 - 1


def test_enums_by_name_in_any_case() -> None:
    mode = field(wp.CreateRequest.BindMount, "mode")
    assert wp.convert_text(mode, "RW") == 1
    assert wp.convert_text(mode, "ro") == 0
    with pytest.raises(wp.ConversionError, match="The constant: 'XX' is not defined in the module"):
        wp.convert_text(mode, "XX")
    assert wp.field_type_text(mode) == "(RO, RW)"


def test_strings_pass_through() -> None:
    assert wp.convert_text(field(wp.EchoRequest, "message"), " a b ") == " a b "
