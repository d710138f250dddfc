"""The configuration keys that loosen the hardening do what the Security
section says, and nothing else changes: the server restarted with each
loosened, then with the defaults again. Also: what a privileged job does to
the container's /etc/passwd does not change who later jobs run as."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from warden.client import Client

from .conftest import Attempt, LinuxServer, container_with_probe

CAP_NET_RAW = 13


@contextlib.contextmanager
def configured(server: LinuxServer, **keys: Any) -> Iterator[None]:
    """The server restarted with these ``server`` keys, then as it was."""
    original = dict(server.config["server"])
    server.config["server"].update(keys)
    server.config_path.write_text(yaml.safe_dump(server.config))
    server.stop()
    server.start()
    try:
        yield
    finally:
        server.config["server"] = original
        server.config_path.write_text(yaml.safe_dump(server.config))
        server.stop()
        server.start()


def _status(attempt: Attempt) -> dict[str, str]:
    text = attempt.shell("cat /proc/self/status")
    return {k: v.strip() for k, _, v in (line.partition(":") for line in text.splitlines())}


@pytest.fixture
def loosened(server: LinuxServer, probe_dir: Path) -> Iterator[tuple[Client, str]]:
    loose = {"privileged_capabilities": ["default", "net_raw"], "seccomp": False,
             "privileged_no_new_privs": False, "restrict_proc_sys": False}  # fmt: skip
    with configured(server, **loose), server.client() as client:
        handle = container_with_probe(client, probe_dir)
        try:
            yield client, handle
        finally:
            client.destroy(handle)


def test_loosened_options_do_what_they_say(loosened: tuple[Client, str]) -> None:
    client, handle = loosened
    root, vcap = Attempt(client, handle, "root"), Attempt(client, handle, "vcap")
    status = _status(root)
    assert int(status["CapEff"], 16) >> CAP_NET_RAW & 1
    assert (status["NoNewPrivs"], status["Seccomp"]) == ("0", "0")
    assert root.probe("raw")["raw-icmp"] == "OK"
    # vcap still has nothing, and keeps no_new_privs; no filter now.
    status = _status(vcap)
    assert (int(status["CapEff"], 16), status["NoNewPrivs"], status["Seccomp"]) == (0, "1", "0")
    # The original's /proc and no /sys.
    mounts = root.shell("cat /proc/mounts")
    assert " /sys " not in mounts and " /proc/sys " not in mounts


def test_an_edited_passwd_does_not_change_who_jobs_run_as(client: Client, shared: str) -> None:
    root, vcap = Attempt(client, shared, "root"), Attempt(client, shared, "vcap")
    uid = vcap.shell("id -u")
    root.shell("cp /etc/passwd /tmp/passwd.orig"
               " && sed -i 's/^vcap:x:[0-9]*:[0-9]*:/vcap:x:0:0:/' /etc/passwd")  # fmt: skip
    try:
        assert root.shell("grep ^vcap: /etc/passwd").startswith("vcap:x:0:0:")
        assert vcap.shell("id -u") == uid
        assert int(_status(vcap)["CapEff"], 16) == 0
    finally:
        root.shell("cp /tmp/passwd.orig /etc/passwd")
