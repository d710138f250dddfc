"""Every module of the four packages imports alone: no two modules import each other.

An import cycle shows only when a module of the cycle is the first one
imported, so each module gets an interpreter in which no warden module is
loaded yet: one driver process imports only the standard library, then
forks one child per module (a few at a time); the child imports its module
and reports the error, if any. ``__main__`` modules are left out: importing
one runs its program.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import warden.client
import warden.protocol
import warden.server
import warden.twisted_client

PACKAGES = (warden.protocol, warden.client, warden.twisted_client, warden.server)

#: Imports each module named on stdin (a JSON list) in a forked child of a
#: process that has loaded no warden module; prints {module: error}.
DRIVER = r"""
import json, os, sys, traceback

modules = json.load(sys.stdin)
failures = {}
running = {}

def reap():
    pid, status = os.wait()
    module, reader = running.pop(pid)
    with os.fdopen(reader) as pipe:
        error = pipe.read()
    if status != 0:
        failures[module] = error or f"exit status {status}"

for module in modules:
    if len(running) >= 4:
        reap()
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        try:
            __import__(module)
        except BaseException:
            os.write(writer, traceback.format_exc(limit=-3).encode())
            os._exit(1)
        os._exit(0)
    os.close(writer)
    running[pid] = (module, reader)
while running:
    reap()
print(json.dumps(failures))
"""


def all_modules() -> list[str]:
    """Every module of the four packages, found on disk (none of them imported)."""
    names = []
    for package in PACKAGES:
        (root,) = package.__path__
        for path in sorted(Path(root).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__main__":
                continue
            if parts[-1] == "__init__":
                parts.pop()
            names.append(".".join([package.__name__, *parts]))
    return names


def import_each_alone(modules: list[str]) -> dict[str, str]:
    """Module name -> the error of importing it first, for those that fail."""
    completed = subprocess.run(
        [sys.executable, "-c", DRIVER],
        input=json.dumps(modules),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    failures: dict[str, str] = json.loads(completed.stdout)
    return failures


def test_the_driver_names_a_module_that_cannot_be_imported() -> None:
    failures = import_each_alone(["json", "warden.server.no_such_module"])
    assert list(failures) == ["warden.server.no_such_module"]
    assert "ModuleNotFoundError" in failures["warden.server.no_such_module"]


def test_modules_are_found_in_every_package() -> None:
    modules = all_modules()
    for expected in (
        "warden.protocol",
        "warden.protocol.pb.ping_pb2",
        "warden.client._repl._main",
        "warden.twisted_client._scripted_warden",
        "warden.server._protocol",
        "warden.server.container._context",
        "warden.server.linux._disk._loop",
    ):
        assert expected in modules


def test_every_module_imports_alone() -> None:
    failures = import_each_alone(all_modules())
    assert failures == {}, "cannot be imported alone:\n" + "\n".join(
        f"{module}:\n{error}" for module, error in sorted(failures.items())
    )
