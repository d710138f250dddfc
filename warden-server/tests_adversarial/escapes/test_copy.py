"""Copies: "..", symlinks and absolute paths in copy_in and copy_out paths,
links planted by vcap and by root, and a container that forges the stream a
copy out unpacks on the host (its own tar replaced by a privileged job)."""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from warden.client import Client, ServerError

from .conftest import TIMEOUT, Attempt, HostSecret, container_info


def test_dotdot_in_copy_out_source_stays_inside(client: Client, shared: str,
                                                tmp_path: Path) -> None:  # fmt: skip
    client.copy_out(shared, "/../../../../../../etc/hostname", str(tmp_path / "hn"),
                    timeout=TIMEOUT)  # fmt: skip
    assert (tmp_path / "hn").read_text() == container_info(client, shared)[0] + "\n"


def test_dotdot_and_absolute_host_paths_in_copy_out_source_are_not_found(
    client: Client, shared: str, host_secret: HostSecret, tmp_path: Path
) -> None:
    for src in (
        str(host_secret.file),
        f"/tmp/../../../..{host_secret.file}",
        f"/proc/1/root{host_secret.file}",
        f"/proc/1/cwd/{host_secret.file.name}",
    ):
        with pytest.raises(ServerError, match="command exited with failure"):
            client.copy_out(shared, src, str(tmp_path / "stolen"), timeout=TIMEOUT)
        assert not (tmp_path / "stolen").exists(), src


def test_dotdot_in_copy_in_destination_stays_inside(client: Client, shared: str,
                                                    host_secret: HostSecret,
                                                    tmp_path: Path) -> None:  # fmt: skip
    payload = tmp_path / "payload"
    payload.write_text("planted\n")
    inside = Attempt(client, shared, "root")
    # The host's secret directory, named from inside with "..": the container
    # gets a directory of that name in its own tree.
    inside.shell(f"mkdir -p {host_secret.directory} && chmod 1777 {host_secret.directory}")
    client.copy_in(shared, str(payload), f"/tmp/../../../..{host_secret.directory}/payload",
                   timeout=TIMEOUT)  # fmt: skip
    assert inside.read(f"{host_secret.directory}/payload") == "planted\n"
    assert sorted(os.listdir(host_secret.directory)) == ["secret.txt"]


@pytest.mark.parametrize("planter", ["vcap", "root"])
def test_planted_symlinks_lead_only_into_the_container(
    client: Client, fresh: Callable[[], str], host_secret: HostSecret, tmp_path: Path, planter: str
) -> None:
    handle = fresh()
    inside = Attempt(client, handle, planter)
    home = "/home/vcap"
    secret_dir = str(host_secret.directory)
    inside.shell(f"cd {home} && ln -s {secret_dir} to-host && ln -s / to-root"
                 f" && ln -s ../../../../../../..{secret_dir} up && ln -s /proc/1/root via-init"
                 f" && ln -s {host_secret.file} file-link")  # fmt: skip
    payload = tmp_path / "payload"
    payload.write_text("planted\n")
    for dst in (f"{home}/to-host/payload", f"{home}/up/payload", f"{home}/via-init/payload",
                f"{home}/to-host/", f"{home}/file-link"):  # fmt: skip
        # Fails (the links lead nowhere in the container) or lands in the
        # container: either way, not on the host.
        with contextlib.suppress(ServerError):
            client.copy_in(handle, str(payload), dst, timeout=TIMEOUT)
    assert sorted(os.listdir(host_secret.directory)) == ["secret.txt"]
    assert host_secret.file.read_text() == host_secret.text
    for src in (f"{home}/to-host/secret.txt", f"{home}/up/secret.txt", f"{home}/file-link/",
                f"{home}/via-init/etc/hostname"):  # fmt: skip
        with pytest.raises(ServerError, match="command exited with failure"):
            client.copy_out(handle, src, str(tmp_path / "stolen"), timeout=TIMEOUT)
        assert not (tmp_path / "stolen").exists(), src
    # Through a link to the container's own root: the container's own file.
    client.copy_out(handle, f"{home}/to-root/etc/hostname", str(tmp_path / "hn"),
                    timeout=TIMEOUT)  # fmt: skip
    assert (tmp_path / "hn").read_text() == container_info(client, handle)[0] + "\n"


def test_a_copied_out_link_is_not_followed_by_the_server(
    client: Client, fresh: Callable[[], str], host_secret: HostSecret, tmp_path: Path
) -> None:
    handle = fresh()
    Attempt(client, handle, "vcap").shell(f"ln -s {host_secret.file} ~/link")
    before = host_secret.file.stat()
    client.copy_out(handle, "/home/vcap/link", str(tmp_path / "link"), owner="nobody",
                    timeout=TIMEOUT)  # fmt: skip
    # Kept as a link (rsync's --links), and chowned as a link, not through it.
    assert os.readlink(tmp_path / "link") == str(host_secret.file)
    assert (tmp_path / "link").lstat().st_uid != 0
    after = host_secret.file.stat()
    assert (after.st_uid, after.st_mode) == (before.st_uid, before.st_mode)


def test_set_user_id_files_arrive_without_the_bit(client: Client, fresh: Callable[[], str],
                                                  tmp_path: Path) -> None:  # fmt: skip
    # vcap may set the set-user-ID bit on its own files; a root tar -p on the
    # host would have made this a set-user-ID-root program there.
    handle = fresh()
    Attempt(client, handle, "vcap").shell(
        "cp /bin/id ~/id && chmod 4755 ~/id && mkdir ~/d && cp /bin/id ~/d/gid"
        " && chmod 2775 ~/d/gid && chmod 1777 ~/d")  # fmt: skip
    client.copy_out(handle, "/home/vcap/id", str(tmp_path / "id"), timeout=TIMEOUT)
    client.copy_out(handle, "/home/vcap/d", str(tmp_path / "out"), timeout=TIMEOUT)
    assert stat.S_IMODE((tmp_path / "id").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "out" / "d" / "gid").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "out" / "d").stat().st_mode) == 0o755


def _forged_archive(host_secret: HostSecret, victim: Path) -> bytes:
    """What a container's replaced tar sends: every trick GNU tar must refuse."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:

        def add(
            name: str,
            kind: bytes = tarfile.REGTYPE,
            data: bytes = b"forged\n",
            mode: int = 0o644,
            **fields: object,
        ) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid = kind, mode, 0, 0
            for key, value in fields.items():
                setattr(info, key, value)
            if kind == tarfile.REGTYPE:
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)

        add("forged")  # the copy's own name: something ordinary arrives
        add("../dotdot-escape")
        add(f"{victim}/absolute-escape")
        add("link", tarfile.SYMTYPE, linkname=str(victim))
        add("link/through-link")
        add("hard", tarfile.LNKTYPE, linkname=str(host_secret.file))
        add("hard-up", tarfile.LNKTYPE, linkname=f"../../../../../..{host_secret.file}")
        add("setuid", mode=0o4755)
        add("block", tarfile.BLKTYPE, mode=0o666, devmajor=8, devminor=0)
        add("memory", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=1)
    return buffer.getvalue()


def test_a_forged_copy_out_stream_lands_nothing_outside_and_nothing_dangerous(
    client: Client, fresh: Callable[[], str], host_secret: HostSecret, tmp_path: Path
) -> None:
    handle = fresh()
    victim = tmp_path / "victim"
    victim.mkdir()
    forged = tmp_path / "forged.tar"
    forged.write_bytes(_forged_archive(host_secret, victim))
    client.copy_in(handle, str(forged), "/home/vcap/forged.tar", timeout=TIMEOUT)
    # A privileged job replaces the container's tar with one that sends the
    # forged archive, whatever it is asked.
    root = Attempt(client, handle, "root")
    root.shell("printf '#!/bin/bash\\ncat /home/vcap/forged.tar\\n' > /usr/bin/tar"
               " && chmod 755 /usr/bin/tar")  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ServerError, match="command exited with failure"):
        client.copy_out(handle, "/home/vcap/", str(out), timeout=TIMEOUT)
    assert sorted(os.listdir(victim)) == []
    assert not (tmp_path / "dotdot-escape").exists()
    assert host_secret.file.stat().st_nlink == 1
    assert host_secret.file.read_text() == host_secret.text
    arrived = {entry.name: entry.stat(follow_symlinks=False) for entry in os.scandir(out)}
    # No device node, no set-user-ID file; the absolute member is unpacked
    # below the destination; the link stays a link (the member through it
    # was refused).
    assert "block" not in arrived and "memory" not in arrived
    assert stat.S_IMODE(arrived["setuid"].st_mode) == 0o755
    assert (out / "forged").read_text() == "forged\n"
    assert (out / str(victim).lstrip("/") / "absolute-escape").read_text() == "forged\n"
    assert os.readlink(out / "link") == str(victim)
    assert all(stat.S_ISREG(s.st_mode) or stat.S_ISDIR(s.st_mode) or stat.S_ISLNK(s.st_mode)
               for s in arrived.values())  # fmt: skip


def _victim(tmp_path: Path) -> Path:
    """A host directory a container must never write into (root's, 0755)."""
    victim = tmp_path / "victim"
    victim.mkdir()
    return victim


def test_a_link_copied_out_earlier_does_not_steer_a_later_copy_out(
    client: Client, fresh: Callable[[], str], tmp_path: Path
) -> None:
    # The first copy out brings back out/a/d -> victim (a link stays a link);
    # then the container makes d a real directory and asks for its contents
    # at out/a/d/: a host path that now leads through the container's link.
    handle, victim, out = fresh(), _victim(tmp_path), tmp_path / "out"
    vcap = Attempt(client, handle, "vcap")
    vcap.shell(f"mkdir ~/a && ln -s {victim} ~/a/d")
    client.copy_out(handle, "/home/vcap/a", str(out), timeout=TIMEOUT)
    assert os.readlink(out / "a" / "d") == str(victim)
    vcap.shell("rm ~/a/d && mkdir ~/a/d && echo planted > ~/a/d/planted")
    for dst, owner in ((out / "a" / "d", ""), (out / "a" / "d" / "new", "nobody")):
        with pytest.raises(ServerError, match="command exited with failure"):
            client.copy_out(handle, "/home/vcap/a/d/", f"{dst}/", owner=owner,
                            timeout=TIMEOUT)  # fmt: skip
    assert os.listdir(victim) == []
    assert victim.stat().st_uid == 0


def test_a_forged_stream_does_not_write_through_a_link_copied_out_earlier(
    client: Client, fresh: Callable[[], str], tmp_path: Path
) -> None:
    # The same destination again, with a stream that names a/d/planted but
    # not the directory a/d (which would have replaced the link): without
    # the jail the host's tar opens a/d/planted through the old link.
    handle, victim, out = fresh(), _victim(tmp_path), tmp_path / "out"
    Attempt(client, handle, "vcap").shell(f"mkdir ~/a && ln -s {victim} ~/a/d")
    client.copy_out(handle, "/home/vcap/a", str(out), timeout=TIMEOUT)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        info = tarfile.TarInfo("a/d/planted")
        info.size = 8
        archive.addfile(info, io.BytesIO(b"planted\n"))
    forged = tmp_path / "forged.tar"
    forged.write_bytes(buffer.getvalue())
    client.copy_in(handle, str(forged), "/home/vcap/forged.tar", timeout=TIMEOUT)
    Attempt(client, handle, "root").shell(
        "printf '#!/bin/bash\\ncat /home/vcap/forged.tar\\n' > /usr/bin/tar"
        " && chmod 755 /usr/bin/tar")  # fmt: skip
    with contextlib.suppress(ServerError):
        client.copy_out(handle, "/home/vcap/a", str(out), owner="nobody", timeout=TIMEOUT)
    assert os.listdir(victim) == []
    assert victim.stat().st_uid == 0
    assert os.readlink(out / "a" / "d") == str(victim)


def test_copy_in_does_not_read_through_a_link_copied_out_earlier(
        client: Client, fresh: Callable[[], str], host_secret: HostSecret,
        tmp_path: Path) -> None:  # fmt: skip
    # out/d -> the host's secret directory, from the container; copying
    # out/d/ back in would hand the container the host's files.
    handle, out = fresh(), tmp_path / "out"
    Attempt(client, handle, "vcap").shell(f"ln -s {host_secret.directory} ~/d")
    out.mkdir()
    client.copy_out(handle, "/home/vcap/d", str(out), timeout=TIMEOUT)
    with pytest.raises(ServerError, match="command exited with failure"):
        client.copy_in(handle, f"{out}/d/", "/home/vcap/got/", timeout=TIMEOUT)
    assert Attempt(client, handle, "vcap").read("/home/vcap/got/secret.txt") == "ENOENT\n"
