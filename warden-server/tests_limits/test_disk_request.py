"""LimitDisk's fields, aliases and precedence, without any kernel object."""

from __future__ import annotations

import pytest

from warden.protocol import LimitDiskRequest, LimitDiskResponse
from warden.server.linux._disk import DiskLimits, fill_response, requested_limits

START = DiskLimits(block_soft=1, block_hard=2, inode_soft=3, inode_hard=4)


def request(**fields: int) -> LimitDiskRequest:
    return LimitDiskRequest(handle="h", **fields)


def test_no_field_keeps_the_current_limits() -> None:
    assert requested_limits(START, request()) == START


@pytest.mark.parametrize("name", ["byte_limit", "byte", "byte_hard"])
def test_byte_aliases_set_the_hard_limit_in_blocks_rounded_up(name: str) -> None:
    assert requested_limits(START, request(**{name: 1025})).block_hard == 2
    assert requested_limits(START, request(**{name: 1024})).block_hard == 1
    assert requested_limits(START, request(**{name: 0})).block_hard == 0


def test_byte_soft() -> None:
    assert requested_limits(START, request(byte_soft=4096)) == DiskLimits(4, 2, 3, 4)


@pytest.mark.parametrize("name", ["block_limit", "block", "block_hard"])
def test_block_aliases(name: str) -> None:
    assert requested_limits(START, request(**{name: 77})) == DiskLimits(1, 77, 3, 4)


@pytest.mark.parametrize("name", ["inode_limit", "inode", "inode_hard"])
def test_inode_aliases(name: str) -> None:
    assert requested_limits(START, request(**{name: 99})) == DiskLimits(1, 2, 3, 99)


def test_inode_soft() -> None:
    assert requested_limits(START, request(inode_soft=9)) == DiskLimits(1, 2, 9, 4)


def test_hard_wins_over_bare_name_over_limit() -> None:
    assert requested_limits(START, request(block_limit=1, block=2, block_hard=3)).block_hard == 3
    assert requested_limits(START, request(block_limit=1, block=2)).block_hard == 2
    assert requested_limits(START, request(inode_limit=1, inode=2, inode_hard=3)).inode_hard == 3
    assert requested_limits(START, request(byte_limit=1024, byte=2048)).block_hard == 2


def test_block_fields_win_over_byte_fields() -> None:
    assert requested_limits(START, request(byte_hard=10 * 1024, block_limit=5)).block_hard == 5
    assert requested_limits(START, request(byte_soft=10 * 1024, block_soft=5)).block_soft == 5


def test_response_has_all_twelve_fields() -> None:
    response = LimitDiskResponse()
    fill_response(DiskLimits(block_soft=10, block_hard=20, inode_soft=30, inode_hard=40), response)
    assert {f.name: v for f, v in response.ListFields()} == {
        "block_limit": 20, "block": 20, "block_soft": 10, "block_hard": 20,
        "inode_limit": 40, "inode": 40, "inode_soft": 30, "inode_hard": 40,
        "byte_limit": 20480, "byte": 20480, "byte_soft": 10240, "byte_hard": 20480,
    }  # fmt: skip


def test_unlimited_answers_zeros() -> None:
    response = LimitDiskResponse()
    fill_response(DiskLimits(), response)
    assert len(response.ListFields()) == 12
    assert all(value == 0 for _, value in response.ListFields())
