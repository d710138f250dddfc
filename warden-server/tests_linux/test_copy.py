"""copy_in and copy_out: rsync's rules, run inside the container as vcap."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from warden.client import Client, ServerError

from .conftest import TIMEOUT, output


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("hello\n")
    (src / "a.txt").chmod(0o640)
    (src / "run.sh").write_text("#!/bin/sh\n")
    (src / "run.sh").chmod(0o755)
    (src / "link").symlink_to("a.txt")
    os.link(src / "a.txt", src / "sub" / "hard")
    return src


def _listing(client: Client, handle: str, where: str) -> str:
    return output(client, handle, f"cd {where} && find . | sort | xargs stat -c '%n %A %U %h'")


def test_copy_in_rsync_rules(tree: Path, client: Client, container: str) -> None:
    client.copy_in(container, str(tree), "/home/vcap/itself", timeout=TIMEOUT)
    client.copy_in(container, f"{tree}/", "/home/vcap/contents", timeout=TIMEOUT)
    client.copy_in(container, str(tree / "a.txt"), "/home/vcap/renamed", timeout=TIMEOUT)
    client.copy_in(container, str(tree / "a.txt"), "/home/vcap/contents", timeout=TIMEOUT)
    client.copy_in(container, str(tree / "a.txt"), "/home/vcap/newdir/", timeout=TIMEOUT)
    assert _listing(client, container, "/home/vcap/itself") == (
        ". drwxr-xr-x vcap 3\n"
        "./src drwxr-xr-x vcap 3\n"
        "./src/a.txt -rw-r----- vcap 1\n"
        "./src/link lrwxrwxrwx vcap 1\n"
        "./src/run.sh -rwxr-xr-x vcap 1\n"
        "./src/sub drwxr-xr-x vcap 2\n"
        "./src/sub/hard -rw-r----- vcap 1\n"
    )
    assert "./a.txt -rw-r----- vcap 1" in _listing(client, container, "/home/vcap/contents")
    assert output(client, container, "readlink ~/contents/link; cat ~/renamed ~/newdir/a.txt") == (
        "a.txt\nhello\nhello\n"
    )


def test_copy_out_rsync_rules_and_owner(tree: Path, tmp_path: Path, client: Client,
                                        container: str) -> None:  # fmt: skip
    client.copy_in(container, f"{tree}/", "/home/vcap/data", timeout=TIMEOUT)
    out = tmp_path / "out"
    out.mkdir()
    client.copy_out(container, "/home/vcap/data", str(out / "itself"), timeout=TIMEOUT)
    client.copy_out(container, "/home/vcap/data/", str(out / "contents"), timeout=TIMEOUT)
    client.copy_out(container, "/home/vcap/data/a.txt", str(out / "file"), timeout=TIMEOUT)
    assert (out / "itself" / "data" / "sub" / "hard").read_text() == "hello\n"
    assert (out / "contents" / "a.txt").stat().st_mode & 0o777 == 0o640
    assert os.readlink(out / "contents" / "link") == "a.txt"
    assert (out / "contents" / "sub" / "hard").stat().st_nlink == 1
    assert (out / "file").read_text() == "hello\n" and (out / "file").stat().st_uid == 0
    nobody = pwd.getpwnam("nobody")
    client.copy_out(container, "/home/vcap/data", str(out / "owned"), owner="nobody:nogroup",
                    timeout=TIMEOUT)  # fmt: skip
    assert (out / "owned" / "data" / "a.txt").stat().st_uid == nobody.pw_uid


def test_container_symlinks_never_reach_the_host(tmp_path: Path, client: Client,
                                                 container: str) -> None:  # fmt: skip
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "host-secret").write_text("host only\n")
    # Links planted in the container, pointing at the host path and upwards.
    output(client, container, f"cd; ln -s {victim} to-host; ln -s ../../../../../../{victim} up;"
                              " ln -s /etc etc-link")  # fmt: skip
    for src in ("/home/vcap/to-host/host-secret", "/home/vcap/up/host-secret"):
        with pytest.raises(ServerError, match="command exited with failure"):
            client.copy_out(container, src, str(tmp_path / "stolen"), timeout=TIMEOUT)
    assert not (tmp_path / "stolen").exists()
    source = tmp_path / "payload"
    source.write_text("planted\n")
    for dst in ("/home/vcap/to-host/payload", "/home/vcap/up/payload"):
        with pytest.raises(ServerError, match="command exited with failure"):
            client.copy_in(container, str(source), dst, timeout=TIMEOUT)
    assert sorted(os.listdir(victim)) == ["host-secret"]
    # Through the container's own link, the container's own file.
    client.copy_out(container, "/home/vcap/etc-link/hostname", str(tmp_path / "hn"),
                    timeout=TIMEOUT)  # fmt: skip
    assert (tmp_path / "hn").read_text() == client.info(container).container_path[-11:] + "\n"
    # And only what vcap may read.
    with pytest.raises(ServerError, match="command exited with failure"):
        client.copy_out(container, "/etc/shadow", str(tmp_path / "shadow"), timeout=TIMEOUT)


def test_host_directories_with_odd_names_are_not_taken_for_links(
        tmp_path: Path, client: Client, container: str) -> None:  # fmt: skip
    # The host's side checks that its directory's real path is the path
    # given: names ending in newlines, with spaces, "." and ".." compare whole.
    odd = tmp_path / "ends in newline\n\n"
    odd.mkdir()
    (odd / "f").write_text("odd\n")
    client.copy_in(container, f"{odd}/./", "/home/vcap/odd", timeout=TIMEOUT)
    assert output(client, container, "cat /home/vcap/odd/f") == "odd\n"
    client.copy_out(container, "/home/vcap/odd/f", f"{odd}/../{odd.name}/back", timeout=TIMEOUT)
    assert (odd / "back").read_text() == "odd\n"
    # A real link of the host's own is refused like a container's: the
    # real path is asked for.
    (tmp_path / "link").symlink_to(odd)
    with pytest.raises(ServerError):
        client.copy_out(container, "/home/vcap/odd/f", f"{tmp_path}/link/again", timeout=TIMEOUT)
    assert not (odd / "again").exists()


def test_names_with_backslashes_are_copied_as_they_are(
        tmp_path: Path, client: Client, container: str) -> None:  # fmt: skip
    # tar reads backslash escapes in the names it is given unless told not to:
    # "a\b" must not become "a" and a backspace.
    names = ["a\\b", "x\\\\y", "tab\\t", "octal\\101"]
    source = tmp_path / "in"
    source.mkdir()
    for name in names:
        (source / name).write_text(name)
        client.copy_in(container, str(source / name), f"/home/vcap/{name}", timeout=TIMEOUT)
    assert output(client, container, "cd /home/vcap && cat -- " + " ".join(
        f"'{name}'" for name in names)) == "".join(names)  # fmt: skip
    back = tmp_path / "out"
    back.mkdir()
    for name in names:
        client.copy_out(container, f"/home/vcap/{name}", str(back / name), timeout=TIMEOUT)
    assert sorted(p.name for p in back.iterdir()) == sorted(names)
