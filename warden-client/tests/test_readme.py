"""The README's examples run, against the scripted server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import RunningServer

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_readme_example_runs(example: str, server: RunningServer) -> None:
    code = example.replace('"/tmp/warden.sock"', repr(server.path))
    exec(compile(code, str(README), "exec"), {})
    assert server.received(), "the example sent nothing"
