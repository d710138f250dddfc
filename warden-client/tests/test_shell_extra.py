"""The ``warden`` shell is the ``repl`` extra; without it, ``warden`` says how to get it.

The missing dependency is simulated in a fresh interpreter by an import hook
that refuses prompt_toolkit, so this runs whether or not the extra is installed.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points, requires

from packaging.requirements import Requirement

from warden.client._shell import MISSING_REPL_MESSAGE

# Runs warden.client._shell.main() with one top-level package made unimportable.
_WITHOUT = """
import sys
from importlib.abc import MetaPathFinder

class Refuse(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {blocked!r} or name.startswith({blocked!r} + "."):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Refuse())
from warden.client._shell import main
sys.exit(main(["--help"]))
"""


def _run_without(blocked: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT.format(blocked=blocked)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_prompt_toolkit_warden_says_to_install_the_extra() -> None:
    result = _run_without("prompt_toolkit")
    assert result.returncode == 1
    assert result.stderr == MISSING_REPL_MESSAGE
    assert "pip install 'warden-client[repl]'" in result.stderr
    assert result.stdout == ""


def test_other_import_failures_are_not_disguised() -> None:
    # A broken shell module is a bug, not a missing extra: its traceback shows.
    result = _run_without("warden.client._repl")
    assert result.returncode != 0
    assert "ModuleNotFoundError" in result.stderr
    assert "warden-client[repl]" not in result.stderr


def test_the_client_itself_needs_no_prompt_toolkit() -> None:
    probe = (
        "import sys, warden.client\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'prompt_toolkit'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_prompt_toolkit_comes_only_with_the_repl_extra() -> None:
    requirements = [Requirement(line) for line in requires("warden-client") or []]
    (toolkit,) = [r for r in requirements if r.name.replace("_", "-").lower() == "prompt-toolkit"]
    assert toolkit.marker is not None, "prompt_toolkit must not be a plain dependency"
    assert toolkit.marker.evaluate({"extra": "repl"})
    assert not toolkit.marker.evaluate({"extra": "test"})


def test_the_console_script_goes_through_the_guard() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "warden"]
    assert script.value == "warden.client._shell:main"
