"""Build hook: ship the backends' scripts inside the warden-server wheel.

The scripts live beside this folder (``../root-scripts``) so that the
checkout, the tests and the packages share one copy. A regular (non-editable)
build copies them, exec bits kept, into ``warden/server/root_scripts`` and
builds the static helpers there (``linux/bin/warden-keeper``, which every job
runs under, ``linux/bin/warden-exec``, the Linux job launcher, and
``linux/bin/warden-spawner``, which starts the server's processes) when a C
compiler with a static libc is at hand; without one the server says at start
how to build them. An editable install uses the checkout's folder directly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

#: The static C helpers under root-scripts/linux/src, built into linux/bin.
HELPERS = ("warden-keeper", "warden-exec", "warden-start", "warden-spawner")
HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent / "root-scripts"
TARGET = Path("warden", "server", "root_scripts")


class BuildWithRootScripts(build_py):
    """``build_py`` plus a copy of ``../root-scripts`` (and the helpers when they build)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        if not SOURCE.is_dir():
            # Built from an unpacked sdist: the copy made then is already in place.
            return
        # Absolute: make runs in the helper's folder.
        target = Path(self.build_lib).resolve() / TARGET
        if target.exists():
            shutil.rmtree(target)
        # copytree keeps each file's mode; the wheel records it and pip restores it.
        skip = shutil.ignore_patterns("bin", "__pycache__", "tests")
        shutil.copytree(SOURCE, target, ignore=skip)
        for name in HELPERS:
            build_helper(target, name)


def build_helper(target: Path, name: str) -> None:
    """Build helper ``name`` into ``target``'s linux/bin; else copy the checkout's build."""
    helper = target / "linux" / "bin" / name
    built = SOURCE / "linux" / "bin" / name
    make = subprocess.run(
        ["make", "-s", "-C", str(target / "linux" / "src" / name), f"OUT={helper}"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if make.returncode != 0 and built.is_file() and os.access(built, os.X_OK):
        helper.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, helper)
    if not helper.is_file():
        print(f"warning: {name} not built ({make.stderr.strip()[-300:]})")


setup(cmdclass={"build_py": BuildWithRootScripts})
