"""The packages as users install them: wheels, a fresh virtual environment, a working server.

Builds a wheel of each of the four folders, installs them (not editable) into
a new virtual environment in a temporary directory outside the checkout, starts
the installed ``warden-server`` (the scripts shipped in its wheel) with the
insecure backend, then with the Linux backend (as root, in a network namespace
the test makes and removes), creates a container and runs a job through the
installed ``warden`` shell, then stops the server and removes everything. Installs resolve through
pip's configured indexes and ``PIP_CONSTRAINT``, so the pip cache suffices
offline.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("warden-protocol", "warden-client", "twisted-warden-client", "warden-server")


def run(*argv: str | Path, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed() -> Iterator[Path]:
    """A virtual environment holding the four wheels (and their dependencies)."""
    base = Path(tempfile.mkdtemp(prefix="wpkg-", dir="/tmp"))
    try:
        wheels = base / "wheels"
        for package in PACKAGES:
            run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels,
                REPO / package)  # fmt: skip
        run(sys.executable, "-m", "venv", base / "venv")
        # The blocking client with its shell (the repl extra): the test drives `warden`.
        names = [
            f"{w}[repl]" if w.name.startswith("warden_client-") else str(w)
            for w in sorted(wheels.glob("*.whl"))
        ]
        run(base / "venv/bin/pip", "install", "-q", *names)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_wheel_per_package(installed: Path) -> None:
    names = sorted(p.name.split("-")[0] for p in (installed / "wheels").glob("*.whl"))
    assert names == ["twisted_warden_client", "warden_client", "warden_protocol", "warden_server"]


def test_the_scripts_are_installed_with_their_exec_bits(installed: Path) -> None:
    found = list((installed / "venv/lib").glob("python3*/site-packages/warden/server/root_scripts"))
    assert len(found) == 1
    scripts = found[0]
    for name in ("create.sh", "destroy.sh", "job.sh", "stop.sh", "copy.sh"):
        assert stat.S_IMODE((scripts / "insecure" / name).stat().st_mode) & 0o111
    assert (scripts / "linux" / "setup.sh").stat().st_mode & 0o111
    for name in ("warden-keeper", "warden-exec", "warden-start"):
        helper = scripts / "linux" / "bin" / name
        assert helper.is_file() and os.access(helper, os.X_OK), f"{name} was not built"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_and_run_a_job(
    installed: Path, base: Path, server_section: dict[str, object], netns: str | None = None
) -> None:
    """Start the installed server on ``server_section``; create, run, destroy; stop it."""
    base.mkdir()
    sock = base / "w.sock"
    config = {
        "server": {
            "unix_domain_path": str(sock),
            "container_depot_path": str(base / "depot"),
            "container_grace_time": None,
            **server_section,
        },
        "health_check_server": {"port": free_port()},
        "logging": {"level": "info", "file": str(base / "server.log")},
        "network": {"pool_network": "10.254.0.0/24", "release_delay": 0},
        "port": {"pool_start_port": 40000, "pool_size": 1000},
        "user": {"pool_start_uid": 30000, "pool_size": 8},
    }
    (base / "warden.yml").write_text(yaml.safe_dump(config))
    argv: list[str | Path] = [installed / "venv/bin/warden-server", "--config", base / "warden.yml"]
    if netns is not None:
        argv = ["nsenter", f"--net=/run/netns/{netns}", *argv]
    # From a directory outside the checkout, so nothing can find its root-scripts.
    server = subprocess.Popen(argv, cwd=base, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not sock.exists():
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the installed server did not listen"
            time.sleep(0.05)
        shell = [installed / "venv/bin/warden", "--socket", sock, "--"]
        handle = run(*shell, "create").split(":")[1].strip()
        output = run(*shell, "run", "--handle", handle, "--script", "echo hello from the wheel")
        assert output.strip() == "hello from the wheel"
        run(*shell, "destroy", "--handle", handle)
        assert list((base / "depot").iterdir()) == [] or all(
            p.name.startswith(".") for p in (base / "depot").iterdir()
        )
    finally:
        server.terminate()
        assert server.wait(timeout=30) is not None
        if server.stderr:
            server.stderr.close()


def test_the_installed_server_creates_a_container_and_runs_a_job(installed: Path) -> None:
    serve_and_run_a_job(installed, installed / "insecure", {"container_klass": "insecure"})


ROOTFS = Path("/var/lib/warden/rootfs")


def test_the_installed_linux_backend_in_a_private_netns(installed: Path) -> None:
    """As root, with the default rootfs (make rootfs); the server in a netns of its own."""
    assert os.geteuid() == 0, "the linux backend needs root"
    assert (ROOTFS / "bin" / "bash").exists(), f"no rootfs at {ROOTFS} (make rootfs)"
    token = secrets.token_hex(3)
    netns, cgroup_parent = f"warden-pkg-{token}", f"warden-pkg-{token}"
    run("ip", "netns", "add", netns)
    try:
        run("ip", "-n", netns, "link", "set", "lo", "up")
        serve_and_run_a_job(
            installed, installed / "linux",
            {"container_klass": "linux", "container_rootfs_path": str(ROOTFS),
             "cgroup_parent": cgroup_parent},
            netns=netns,
        )  # fmt: skip
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)
        # The server's cgroup parent in each hierarchy (its containers are destroyed).
        for group in Path("/sys/fs/cgroup").glob(f"*/{cgroup_parent}"):
            with contextlib.suppress(OSError):
                group.rmdir()
    assert list(Path("/sys/fs/cgroup").glob(f"*/{cgroup_parent}")) == []
