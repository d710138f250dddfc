"""Every Python package the project names is pinned to one exact version in constraints.txt."""

from __future__ import annotations

import configparser
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")
_OURS = {"warden-protocol", "warden-client", "twisted-warden-client", "warden-server"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for raw in (ROOT / "constraints.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, separator, version = line.partition("==")
        assert separator and version, f"constraints.txt: {line!r} is not pinned with =="
        pins[_canonical(name)] = version
    return pins


def _requirement_names(requirements: list[str]) -> set[str]:
    names = set()
    for raw in requirements:
        requirement = raw.strip()
        if not requirement or requirement.startswith(("-", "{", "#")):
            continue
        match = _NAME.match(requirement)
        assert match, requirement
        names.add(_canonical(match.group(1)))
    return names - _OURS


def _pyproject_names() -> set[str]:
    names = set()
    for pyproject in ROOT.glob("*/pyproject.toml"):
        project = tomllib.loads(pyproject.read_text())
        names |= _requirement_names(project["build-system"]["requires"])
        names |= _requirement_names(project["project"].get("dependencies", []))
        for extra in project["project"].get("optional-dependencies", {}).values():
            names |= _requirement_names(extra)
    return names


def _tox_names() -> set[str]:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    names = {"tox"}
    for section in tox.sections():
        if "deps" in tox[section]:
            names |= _requirement_names(tox[section]["deps"].splitlines())
    return names


def _makefile_names() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(r"^DEV_TOOLS := (.*)$", makefile, re.MULTILINE)
    assert match, "the Makefile names its development tools in DEV_TOOLS"
    return _requirement_names(match.group(1).split())


def test_every_named_package_is_pinned() -> None:
    pins = _pins()
    named = _pyproject_names() | _tox_names() | _makefile_names()
    assert sorted(named - pins.keys()) == []


def test_pins_live_only_in_the_constraints_file() -> None:
    """Requirements elsewhere give ranges at most, so that one line decides a version."""
    exact = re.compile(r"==\s*[0-9]")
    sources = [ROOT / "tox.ini", ROOT / "Makefile", *ROOT.glob("*/pyproject.toml")]
    offenders = [
        f"{path.relative_to(ROOT)}: {line.strip()}"
        for path in sources
        for line in path.read_text().splitlines()
        if exact.search(line) and not line.lstrip().startswith("#")
    ]
    assert offenders == []


def test_the_makefile_and_tox_install_with_the_constraints() -> None:
    assert "export PIP_CONSTRAINT := $(CURDIR)/constraints.txt" in (ROOT / "Makefile").read_text()
    assert "PIP_CONSTRAINT = {toxinidir}/constraints.txt" in (ROOT / "tox.ini").read_text()
