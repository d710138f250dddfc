"""The repository stands alone: no file points outside it or cites outside item codes.

Comments and docs say things in words; a bare code such as a letter and a
number in parentheses means nothing to a reader of this repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve().relative_to(REPO).as_posix()
#: Built in two parts so that this file does not match itself.
OUTSIDE = re.compile(re.escape("..") + "/shared|shared" + "/reference")
#: A letter A-L and a number, optionally .number: how the outside notes number their items
#: (not a command-line option such as ``df -B1``).
ITEM_CODE = re.compile(r"(?<![-\w])[A-L][0-9]{1,2}(?:\.[0-9]+)?\b")
#: The C helpers' folders name their language standard (C11): that is no item code.
C_SOURCES = "root-scripts/linux/src/"
C_STANDARD = re.compile(r"\bC(?:89|99|11|17|23)\b")


def tracked_text_files() -> dict[str, str]:
    listing = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True
    ).stdout.decode()
    texts = {}
    for name in filter(None, listing.split("\0")):
        path = REPO / name
        if name == THIS or not path.is_file():  # this file shows the patterns it looks for
            continue
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
    return texts


def offending_lines(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for name, text in tracked_text_files().items():
        for number, line in enumerate(text.splitlines(), 1):
            checked = C_STANDARD.sub("", line) if name.startswith(C_SOURCES) else line
            if pattern.search(checked):
                found.append(f"{name}:{number}: {line.strip()}")
    return found


def test_no_file_points_outside_the_repository() -> None:
    assert offending_lines(OUTSIDE) == []


def test_no_file_cites_item_codes() -> None:
    assert offending_lines(ITEM_CODE) == []


def test_the_patterns_catch_what_they_are_for() -> None:
    assert OUTSIDE.search("see " + ".." + "/shared" + "/reference" + "/decisions.md")
    for cited in ("(C8)", "(B0.2, F3)", "as C6 says", "(E1 ... E4)"):
        assert ITEM_CODE.search(cited), cited
    for fine in ("ip_forward", "w-<id>-0", "0x1F", "AB12", "sha256", "df -B1"):
        assert not ITEM_CODE.search(fine), fine
