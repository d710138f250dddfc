"""Fixtures for the networking tests: each test gets its own namespaces."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from _netns import World, make_world


def pytest_configure(config: pytest.Config) -> None:
    if os.geteuid() != 0:
        raise pytest.UsageError("the networking tests need root (namespaces, iptables, tc)")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = make_world(tmp_path)
    try:
        yield world
    finally:
        world.close()
