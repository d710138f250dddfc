"""The suite's README lists every attempt: each test of this directory has a
row in its tables, and each row names a test that exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_readme_tables_name_every_test() -> None:
    tests = {
        node.name
        for module in HERE.glob("test_*.py")
        if module.name != Path(__file__).name
        for node in ast.parse(module.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }
    readme = (HERE.parent / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| ")]
    named = {name for row in rows for name in re.findall(r"`(test_\w+)`", row)}
    assert sorted(tests - named) == [], "tests without a row in the README"
    assert sorted(named - tests) == [], "README rows naming no test"
