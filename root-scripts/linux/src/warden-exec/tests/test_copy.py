"""The copy path: host tar piped to and from tar run by warden-exec inside the
container as the user, so that the container's paths (and any symlink or ..
planted in them) resolve in the container's view with the user's rights."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import VCAP_UID, Target, call, unique_name


def in_container(
    helper: Path, target: Target, *argv: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return call(
        [str(helper), "--target", str(target.pid), "--user", "vcap", "--", *argv],
        input=stdin,
        text=False,
    )


def host_tar(directory: Path) -> bytes:
    return subprocess.run(
        ["tar", "-c", "-f", "-", "-C", str(directory), "."], capture_output=True, check=True
    ).stdout


@pytest.fixture
def host_victim() -> Iterator[Path]:
    """A host directory that a planted path names; nothing may land in it."""
    victim = Path("/tmp") / unique_name()
    victim.mkdir()
    yield victim
    shutil.rmtree(victim)


def test_copy_in_lands_as_the_user(helper: Path, target: Target, tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "sub/file").write_text("hello\n")
    result = in_container(
        helper,
        target,
        "tar",
        "-x",
        "-p",
        "-m",
        "-f",
        "-",
        "-C",
        "/home/vcap",
        stdin=host_tar(source),
    )
    assert result.returncode == 0, result.stderr
    copied = target.root / "home/vcap/sub/file"
    assert copied.read_text() == "hello\n"
    assert (copied.stat().st_uid, copied.parent.stat().st_uid) == (VCAP_UID, VCAP_UID)


@pytest.mark.parametrize("planted", ["absolute", "dotdot"])
def test_copy_in_follows_planted_symlinks_only_inside_the_container(
    helper: Path, target: Target, tmp_path: Path, host_victim: Path, planted: str
) -> None:
    # The same path inside the container, writable by vcap.
    inside = target.root / str(host_victim).lstrip("/")
    inside.mkdir()
    os.chown(inside, VCAP_UID, VCAP_UID)
    link = target.root / "home/vcap/link"
    link.symlink_to(host_victim if planted == "absolute" else f"../../..{host_victim}")
    os.lchown(link, VCAP_UID, VCAP_UID)
    source = tmp_path / "source"
    source.mkdir()
    (source / "payload").write_text("x\n")

    result = in_container(
        helper, target, "tar", "-x", "-f", "-", "-C", "/home/vcap/link", stdin=host_tar(source)
    )
    assert result.returncode == 0, result.stderr
    assert (inside / "payload").read_text() == "x\n"
    assert list(host_victim.iterdir()) == []


def test_copy_in_strips_dotdot_and_absolute_members(
    helper: Path, target: Target, host_victim: Path
) -> None:
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as archive:
        for name in (f"../../../../..{host_victim}/dotdot", f"{host_victim}/absolute"):
            member = tarfile.TarInfo(name)
            member.size = 2
            archive.addfile(member, io.BytesIO(b"x\n"))
    result = in_container(
        helper, target, "tar", "-x", "-f", "-", "-C", "/home/vcap", stdin=stream.getvalue()
    )
    assert list(host_victim.iterdir()) == []
    # GNU tar refuses the .. member and unpacks the absolute one under -C.
    assert b"../" in result.stderr
    inside = target.root / "home/vcap" / str(host_victim).lstrip("/")
    assert (inside / "absolute").read_text() == "x\n"


def test_copy_out_packs_as_the_user(helper: Path, target: Target) -> None:
    (target.root / "home/vcap/result").write_text("42\n")
    (target.root / "home/vcap/etc-link").symlink_to("/etc/passwd")
    secret = target.root / "root/secret"
    secret.write_text("root only\n")
    secret.chmod(0o600)

    out = in_container(helper, target, "tar", "-c", "-f", "-", "-C", "/home/vcap", ".")
    assert out.returncode == 0, out.stderr
    with tarfile.open(fileobj=io.BytesIO(out.stdout)) as archive:
        members = {m.name: m for m in archive.getmembers()}
        assert archive.extractfile(members["./result"]).read() == b"42\n"  # type: ignore[union-attr]
        # A symlink travels as a symlink; it is never followed out of the home.
        assert members["./etc-link"].issym()

    refused = in_container(helper, target, "tar", "-c", "-f", "-", "-C", "/root", "secret")
    assert refused.returncode != 0
    assert b"Permission denied" in refused.stderr
    assert b"root only" not in refused.stdout
