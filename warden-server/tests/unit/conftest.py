"""Fixtures of the unit layer: a fake clock, fake scripts, a context around them."""

from __future__ import annotations

from pathlib import Path

import pytest
from twisted.internet.task import Clock

from warden.server.container._context import ContainerContext

from ._fakes import RecordingScripts, make_context, unit_config


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def scripts() -> RecordingScripts:
    return RecordingScripts()


@pytest.fixture
def context(tmp_path: Path, clock: Clock, scripts: RecordingScripts) -> ContainerContext:
    return make_context(unit_config(tmp_path), clock, scripts)
