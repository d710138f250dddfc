"""The systemd unit: valid for systemd, and stopping it drains instead of killing."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from warden.server.testing import SERVER_BIN

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "warden-server.service"


def settings() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text())
    return parser


def test_stop_and_reload_drain_and_leave_the_containers_alone() -> None:
    service = settings()["Service"]
    assert service["KillSignal"] == "SIGUSR2"
    assert service["KillMode"] == "process"
    assert service["ExecReload"] == "/bin/kill -USR2 $MAINPID"
    assert service["Restart"] == "always"
    assert service["ExecStart"].split() == [
        "/opt/warden/bin/warden-server", "--config", "/etc/warden/warden.yml"
    ]  # fmt: skip


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    # Verify checks that ExecStart exists: point it at this environment's server.
    unit = tmp_path / "warden-server.service"
    unit.write_text(UNIT.read_text().replace("/opt/warden/bin/warden-server", str(SERVER_BIN)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr
