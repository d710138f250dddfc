"""What a clean stop of the server leaves on the host, with no containers
left: no cgroup directories and no loop devices; the firewall chains and
``ip_forward`` stay, on purpose (warden-server's README, "The linux backend")."""

from __future__ import annotations

from pathlib import Path

from warden.server.container._cgroups import CONTROLLERS

from .conftest import running_server, sh


def loop_devices_under(base: Path) -> list[str]:
    """Loop devices whose backing file lies below ``base``."""
    lines = sh("losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE")
    return [line for line in lines.splitlines() if str(base) in line]


def test_a_clean_stop_leaves_no_cgroups_and_no_loop_devices(
        netns: str, rootfs: Path, tmp_path: Path) -> None:  # fmt: skip
    base = tmp_path / "server"
    with running_server(base, netns, rootfs, name="stop",
                        server_config={"disk_limit_backend": "loop"}) as server:  # fmt: skip
        with server.client() as client:
            handle = client.create(timeout=120).handle
            client.limit_disk(handle, byte_limit=20 * 1024 * 1024, timeout=120)
            assert loop_devices_under(base)
            client.destroy(handle, timeout=120)
        assert any(server.cgroup_dir(c).exists() for c in CONTROLLERS)  # made at start
        server.stop()
        assert server.process is None
        left = [str(server.cgroup_dir(c)) for c in CONTROLLERS if server.cgroup_dir(c).exists()]
        assert left == []
        assert loop_devices_under(base) == []
        # What stays, documented: the firewall's chains and forwarding.
        rules = sh("nsenter", f"--net=/run/netns/{netns}", "iptables-save")
        assert "warden-" in rules
