"""Shared test data: the golden vectors written by the original implementation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "wire-vectors.json").read_text()
)


@pytest.fixture(params=VECTORS, ids=[f"{v['message']}-{i}" for i, v in enumerate(VECTORS)])
def vector(request: pytest.FixtureRequest) -> dict[str, Any]:
    return request.param  # type: ignore[no-any-return]
