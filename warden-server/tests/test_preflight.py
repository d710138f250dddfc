"""A server that could not create a container refuses to start, saying what is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from conftest import ROOT_SCRIPTS, WardenServer

from warden.server._config import Config, parse_config
from warden.server._preflight import problems
from warden.server.testing import SERVER_BIN


def config_for(backend: str, scripts: Path, rootfs: Path) -> Config:
    return parse_config(
        {"server": {"container_klass": backend, "root_scripts_path": str(scripts),
                    "container_rootfs_path": str(rootfs)}}
    )  # fmt: skip


def copy_scripts(tmp_path: Path) -> Path:
    scripts = tmp_path / "scripts"
    shutil.copytree(ROOT_SCRIPTS, scripts, ignore=shutil.ignore_patterns("src"))
    return scripts


def test_the_checkouts_scripts_are_enough_for_the_insecure_backend(tmp_path: Path) -> None:
    assert problems(config_for("insecure", ROOT_SCRIPTS, tmp_path)) == []


def test_a_scripts_folder_without_the_backend_is_named(tmp_path: Path) -> None:
    found = problems(config_for("insecure", tmp_path, tmp_path))
    assert found == [
        f"server.root_scripts_path: {tmp_path} has no insecure/ scripts "
        "(point it at the root-scripts folder of warden)"
    ]


def test_missing_and_non_executable_scripts_are_each_named(tmp_path: Path) -> None:
    scripts = copy_scripts(tmp_path)
    (scripts / "insecure" / "job.sh").unlink()
    (scripts / "insecure" / "copy.sh").chmod(0o644)
    found = problems(config_for("insecure", scripts, tmp_path))
    assert found == [
        f"script {scripts}/insecure/job.sh is missing",
        f"script {scripts}/insecure/copy.sh is not executable",
    ]


def test_linux_needs_its_helpers_and_a_root_file_system(tmp_path: Path) -> None:
    scripts = copy_scripts(tmp_path)
    names = ("warden-keeper", "warden-exec", "warden-start")
    helpers = [scripts / "linux" / "bin" / name for name in names]
    for helper in helpers:
        if helper.exists():
            helper.unlink()
    rootfs = tmp_path / "rootfs"
    found = problems(config_for("linux", scripts, rootfs))
    assert len(found) == 4
    for problem, helper in zip(found, helpers, strict=False):
        assert problem.startswith(f"the helper {helper} is missing or not executable")
        assert f"make -C {scripts}/linux/src/{helper.name} OUT={helper}" in problem
    assert found[3].startswith(f"server.container_rootfs_path: {rootfs} is not a root file system")
    # The insecure backend needs the keeper only.
    assert problems(config_for("insecure", scripts, rootfs)) == [found[0]]
    helpers[0].parent.mkdir(exist_ok=True)
    for helper in helpers:
        helper.write_text("#!/bin/sh\n")
        helper.chmod(0o755)
    (rootfs / "bin").mkdir(parents=True)
    assert problems(config_for("linux", scripts, rootfs)) == []


def test_the_server_refuses_to_start_and_touches_nothing(
    make_server: Callable[..., WardenServer], tmp_path: Path
) -> None:
    server = make_server(server={"root_scripts_path": str(tmp_path / "nowhere")})
    done = subprocess.run(
        [str(SERVER_BIN), "--config", str(server.config_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "cannot start: server.root_scripts_path:" in done.stderr
    assert "nowhere has no insecure/ scripts" in done.stderr
    assert not os.path.exists(server.socket_path)
    assert not server.depot.exists()
