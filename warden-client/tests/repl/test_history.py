"""The history file: a JSON array of lines, oldest first."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from warden.client._repl._history import JsonHistory, default_history_path


def test_default_path_is_in_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_history_path() == str(tmp_path / ".warden-history")


def test_missing_file_is_an_empty_history(tmp_path: Path) -> None:
    history = JsonHistory(str(tmp_path / "h"))
    assert history.lines == []
    assert list(history.load_history_strings()) == []
    assert not (tmp_path / "h").exists()


def test_loads_oldest_first_and_hands_newest_first(tmp_path: Path) -> None:
    path = tmp_path / "h"
    path.write_text(json.dumps(["ping", "list", "echo --message 'é'"]))
    history = JsonHistory(str(path))
    assert history.lines == ["ping", "list", "echo --message 'é'"]
    assert list(history.load_history_strings()) == ["echo --message 'é'", "list", "ping"]


def test_each_line_rewrites_the_whole_array(tmp_path: Path) -> None:
    path = tmp_path / "h"
    path.write_text(json.dumps(["ping"]))
    history = JsonHistory(str(path))
    history.store_string("list")
    assert json.loads(path.read_text()) == ["ping", "list"]
    history.store_string('echo --message "q"')
    assert json.loads(path.read_text()) == ["ping", "list", 'echo --message "q"']
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["h"]  # no temporary file left


def test_only_the_newest_lines_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "h"
    path.write_text(json.dumps([f"echo --message {i}" for i in range(5)]))
    history = JsonHistory(str(path), limit=3)
    assert history.lines == ["echo --message 2", "echo --message 3", "echo --message 4"]
    history.store_string("ping")
    assert json.loads(path.read_text()) == ["echo --message 3", "echo --message 4", "ping"]


def test_a_bad_file_is_reported_and_replaced_by_the_next_line(tmp_path: Path) -> None:
    warnings: list[str] = []
    for content in ("{not json", '{"a": 1}', "[1, 2]"):
        path = tmp_path / "h"
        path.write_text(content)
        history = JsonHistory(str(path), warn=warnings.append)
        assert history.lines == []
        assert path.read_text() == content  # untouched until a line is added
        history.store_string("ping")
        assert json.loads(path.read_text()) == ["ping"]
    assert len(warnings) == 3
    assert all(w.startswith(f"warden: ignoring history file {tmp_path / 'h'}: ") for w in warnings)


def test_an_unwritable_file_is_reported(tmp_path: Path) -> None:
    warnings: list[str] = []
    history = JsonHistory(str(tmp_path / "missing-dir" / "h"), warn=warnings.append)
    history.store_string("ping")
    assert history.lines == ["ping"]
    assert len(warnings) == 1
    assert warnings[0].startswith("warden: cannot write history file ")
