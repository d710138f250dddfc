"""Every ``test-case-name`` header names test modules that exist.

The header (``# -*- test-case-name: tests.test_x,tests_linux.test_y -*-`` on
a module's first line) tells editors and trial which tests cover the module;
its dotted names are relative to the package folder (``warden-server/``).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("warden-protocol", "warden-client", "twisted-warden-client", "warden-server")
_HEADER = re.compile(r"test-case-name:\s*([^\s]+)\s*-\*-")


def _headers() -> list[tuple[Path, str]]:
    found = []
    for package in PACKAGES:
        for module in sorted((ROOT / package / "src").rglob("*.py")):
            with module.open() as source:
                first = source.readline()
            match = _HEADER.search(first)
            if match:
                found.extend((module, name) for name in match.group(1).split(","))
    return found


def test_headers_are_found() -> None:
    assert len(_headers()) > 20, "the header pattern no longer matches"


def test_every_named_test_module_exists() -> None:
    missing = []
    for module, name in _headers():
        package = ROOT / module.relative_to(ROOT).parts[0]
        if not (package / (name.replace(".", "/") + ".py")).is_file():
            missing.append(f"{module.relative_to(ROOT)}: {name}")
    assert missing == [], "test-case-name headers naming no test module"


def test_headers_appear_only_on_the_first_line() -> None:
    misplaced = [
        str(module.relative_to(ROOT))
        for package in PACKAGES
        for module in (ROOT / package / "src").rglob("*.py")
        if "test-case-name" in "".join(module.read_text().splitlines(keepends=True)[1:])
    ]
    assert misplaced == []
