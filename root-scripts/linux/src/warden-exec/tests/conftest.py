"""Fixtures for warden-exec's tests: real namespaces, real cgroups, as root."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from harness import (
    Target,
    build_helper,
    build_probe,
    call,
    copy_root,
    make_template,
    running_target,
    unique_name,
)

if os.geteuid() != 0:
    pytest.exit("warden-exec's tests need root (namespaces, cgroups)", returncode=1)

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("warden-exec-build")


@pytest.fixture(scope="session")
def helper(build_dir: Path) -> Path:
    """warden-exec, built from this tree's sources for this session."""
    return build_helper(build_dir / "warden-exec")


@pytest.fixture(scope="session")
def template(build_dir: Path) -> Path:
    root = build_dir / "template"
    make_template(root, build_probe(build_dir / "probe"))
    return root


@pytest.fixture
def root(template: Path, tmp_path: Path) -> Path:
    """A container root for this test alone."""
    return copy_root(template, tmp_path / "root")


@pytest.fixture
def target(root: Path) -> Iterator[Target]:
    with running_target(root) as running:
        yield running


def helper_argv(
    helper: Path, target: Target, options: Sequence[str], argv: Sequence[str]
) -> list[str]:
    return [str(helper), "--target", str(target.pid), *options, "--", *argv]


@pytest.fixture
def run(helper: Path, target: Target) -> Run:
    """run(*argv, options=[...], env={...}) runs argv in the target through
    warden-exec (as vcap unless options name a user) and returns the result."""

    def _run(
        *argv: str, options: Sequence[str] = (), env: Mapping[str, str] | None = None, **kwargs: Any
    ) -> subprocess.CompletedProcess[str]:
        if not any(o in options for o in ("--user", "-u", "--uid")):
            options = ["--user", "vcap", *options]
        return call(helper_argv(helper, target, options, argv), env=env, **kwargs)

    return _run


@pytest.fixture
def make_cgroup() -> Iterator[Callable[[str], Path]]:
    """make_cgroup(hierarchy) creates a uniquely named cgroup under
    /sys/fs/cgroup/<hierarchy>; all are removed after the test (each must be
    empty by then: a test ends its processes first)."""
    made: list[Path] = []

    def _make(hierarchy: str) -> Path:
        path = Path("/sys/fs/cgroup") / hierarchy / unique_name()
        path.mkdir()
        made.append(path)
        return path

    yield _make
    for path in reversed(made):
        # A process killed just now may take a moment to leave its cgroup.
        for _ in range(100):
            try:
                path.rmdir()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError(f"could not remove {path}")
