"""Bad input, generated with hypothesis: every request type at the wire level
(random field values, very long strings, numbers out of range, unknown enum
values and type numbers, invalid UTF-8, missing fields, traversal in handles),
then the strings that reach the Linux scripts, loaded with shell payloads.

Each request gets an answer (its own response or an error that says what was
wrong); the server stays up (a connection opened before serves on); nothing
runs outside a container (the canary file the payloads aim at never appears
on the host).

Example counts are bounded to keep the suite within minutes.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warden.client import Client, ServerError
from warden.protocol import (
    REQUEST_TYPES,
    CreateRequest,
    CreateResponse,
    ErrorResponse,
    ResourceLimits,
    response_class_for,
)
from warden.server.testing import InsecureTestServer as WardenServer
from warden.server.testing import LinuxTestServer, output

from ._fuzz import CANARY, METACHARACTERS, exchange, injections, nasty_text, wire_requests

TIMEOUT = 60.0
BindMount = CreateRequest.BindMount
SETTINGS = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
    database=None,
)


@pytest.fixture(autouse=True)
def no_canary() -> Iterator[None]:
    """The canary must not exist before, nor appear during, any test here."""
    with contextlib.suppress(FileNotFoundError):
        CANARY.unlink()
    yield
    assert not CANARY.exists(), "a payload ran on the host"


class Target:
    """A container the fuzzed requests may name; made again when a request
    stopped or destroyed it."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.handle = client.create(timeout=TIMEOUT).handle

    def ensure_active(self, working: bool = False) -> None:
        """Make it again if it is gone or stopped (or, with ``working``, if
        it cannot run a job: a fuzzed memory limit may leave too little)."""
        try:
            if self.client.info(self.handle, timeout=TIMEOUT).state == "active" and (
                not working
                or self.client.run(self.handle, "echo ok", timeout=TIMEOUT).stdout == b"ok\n"
            ):
                return
            self.client.destroy(self.handle, timeout=TIMEOUT)
        except ServerError:
            pass
        self.handle = self.client.create(timeout=TIMEOUT).handle


def unexpected(log: str) -> None:
    """Bad input is answered with an error that names it, never with a
    Python exception the server did not expect (logged with its traceback)."""
    failures = [block for block in log.split("\n20") if "Traceback" in block]
    assert not failures, "\n".join(failures[:5])


#: What a Python error the server did not mean to send looks like.
INTERNAL = re.compile(
    r"object has no attribute|NoneType|index out of range|invalid literal|unsupported operand"
    r"|takes \d+ positional|KeyError|TypeError|AttributeError"
)


def check_answer(type_number: int, responses: list[Any], errors: set[str]) -> None:
    """The first response answers the request: its own kind, or an error with a message."""
    assert responses, f"no answer to a request of type {type_number}"
    first = responses[0]
    if isinstance(first, ErrorResponse):
        assert first.message.strip(), "an error without a message"
        assert not INTERNAL.search(first.message), first.message
        errors.add(re.sub(r"\d+", "N", first.message)[:120])
        return
    cls = REQUEST_TYPES.get(type_number)
    assert cls is not None, f"type {type_number} is no request, yet got {first!r}"
    assert isinstance(first, response_class_for(cls)), first


# -- every request type, at the wire level (insecure backend) --


@pytest.fixture(scope="module")
def insecure() -> Iterator[WardenServer]:
    """An insecure server: enough for what the protocol and the base do with
    bad input. Its containers are the host, so a fuzzed request naming the
    real container only ever gets a harmless script and no copy."""
    made = WardenServer(Path(tempfile.mkdtemp(prefix="wabuse-", dir="/tmp")))
    made.start()
    try:
        yield made
        unexpected(made.log())
    finally:
        made.cleanup()


def _insecure_overrides(type_number: int, handle: str) -> dict[str, st.SearchStrategy[Any]]:
    name = REQUEST_TYPES[type_number].__name__
    if name in ("SpawnRequest", "RunRequest"):
        return {"script": st.sampled_from(["true", "echo out; echo err >&2", "exit 3"])}
    if name in ("CopyInRequest", "CopyOutRequest"):
        return {"src_path": st.just("/nonexistent-warden-source"), "dst_path": st.just("x")}
    return {}


@settings(SETTINGS, max_examples=200)
@given(data=st.data())
def test_every_request_type_at_the_wire_level(insecure: WardenServer, data: st.DataObject) -> None:
    errors: set[str] = set()
    with Client(insecure.socket_path) as sentinel:
        target = Target(sentinel)
        type_number, _, frame = data.draw(wire_requests([target.handle], _insecure_overrides))
        responses = exchange(insecure.socket_path, frame, TIMEOUT)
        check_answer(type_number, responses, errors)
        if isinstance(responses[0], CreateResponse):
            sentinel.destroy(responses[0].handle, timeout=TIMEOUT)
        sentinel.ping(timeout=TIMEOUT)
        target.ensure_active()
        sentinel.destroy(target.handle, timeout=TIMEOUT)


# -- the Linux backend: what it checks itself, and what reaches its scripts --

#: Requests whose Linux handling checks numbers and text of its own (ports,
#: networks, limits, rlimits, log tags) or runs the script inside a container.
LINUX_TYPES = [14, 21, 23, 31, 32, 51, 53, 54]


@pytest.fixture
def target(client: Client) -> Iterator[Target]:
    """A Linux container for the fuzzed requests (all of one test's examples)."""
    made = Target(client)
    yield made
    client.destroy(made.handle, timeout=TIMEOUT)


@settings(SETTINGS, max_examples=60)
@given(data=st.data())
def test_linux_requests_at_the_wire_level(
    server: LinuxTestServer, client: Client, target: Target, data: st.DataObject
) -> None:
    errors: set[str] = set()
    type_number, _, frame = data.draw(wire_requests([target.handle], lambda *_: {}, LINUX_TYPES))
    check_answer(type_number, exchange(server.socket_path, frame, TIMEOUT), errors)
    assert not CANARY.exists()
    client.ping(timeout=TIMEOUT)
    target.ensure_active(working=True)


@settings(SETTINGS, max_examples=6)
@given(data=st.data())
def test_linux_disk_limits_at_the_wire_level(
    server: LinuxTestServer, client: Client, target: Target, data: st.DataObject
) -> None:
    """LimitDisk apart: each one runs disk.sh (a mount, sometimes a resize)."""
    errors: set[str] = set()
    type_number, _, frame = data.draw(wire_requests([target.handle], lambda *_: {}, [52]))
    check_answer(type_number, exchange(server.socket_path, frame, TIMEOUT), errors)
    target.ensure_active(working=True)


# -- shell payloads in every string that reaches a Linux script --


def _component_ok(part: str) -> bool:
    return part not in ("", ".", "..") and "\0" not in part and len(part.encode()) < 200


#: Relative paths made of payloads and metacharacters (no "..": the host side
#: of a copy is the client's to choose, and stays in the test's sandbox).
payload_paths = st.one_of(
    st.sampled_from([p.lstrip("/") for p in injections()]),
    st.text(alphabet=METACHARACTERS.replace("/", "") + "ab", min_size=1, max_size=20),
).filter(lambda path: all(_component_ok(part) for part in path.split("/")))


@pytest.fixture
def sandbox() -> Iterator[Path]:
    """Where the host side of the copies lives."""
    made = Path(tempfile.mkdtemp(prefix="wabuse-sandbox-", dir="/tmp"))
    yield made
    shutil.rmtree(made, ignore_errors=True)


def _tolerate(method: Callable[..., object], *args: object, **fields: object) -> bool:
    """Make a request that may fairly fail; True when it succeeded."""
    try:
        method(*args, timeout=TIMEOUT, **fields)
    except ServerError as error:
        assert error.message.strip() and not INTERNAL.search(error.message), error.message
        return False
    return True


@settings(SETTINGS, max_examples=20)
@given(name=payload_paths, data=st.data())
def test_copies_with_shell_payloads(
    client: Client, target: Target, sandbox: Path, name: str, data: st.DataObject
) -> None:
    handle, owner = target.handle, data.draw(nasty_text(60))
    box = sandbox / f"in-{len(list(sandbox.iterdir()))}"
    (box / name).parent.mkdir(parents=True, exist_ok=True)
    (box / name).write_text("payload\n")
    inside = f"/home/vcap/{box.name}"
    # A tree whose names are payloads: copied in and out whole.
    client.copy_in(handle, f"{box}/", inside, timeout=TIMEOUT)
    out = sandbox / f"out-{box.name}"
    client.copy_out(handle, f"{inside}/{name}", str(out), timeout=TIMEOUT)
    assert out.read_text() == "payload\n"
    # Payloads as container-side paths (through .. as well) and as the owner.
    _tolerate(client.copy_in, handle, str(box / name), f"/home/vcap/{name}")
    _tolerate(client.copy_out, handle, f"{inside}/{name}", f"{out}-x", owner=owner)
    up = data.draw(st.sampled_from(["/..", "/../../../../..", "/home/../../"]))
    client.copy_out(handle, f"{up}{inside}/{name}", f"{out}-y", timeout=TIMEOUT)
    assert Path(f"{out}-y").read_text() == "payload\n"
    assert not CANARY.exists()


def test_traversal_in_container_paths_stays_in_the_container(
    client: Client, target: Target, sandbox: Path
) -> None:
    """Container-side paths resolve in the container, wherever ``..`` points."""
    hostname = Path(client.info(target.handle).container_path).name
    for path in ["/../../../../etc/hostname", "../../../../../etc/hostname",
                 "/proc/self/root/../../etc/hostname", "/proc/1/root/etc/hostname"]:  # fmt: skip
        dst = sandbox / f"h{len(list(sandbox.iterdir()))}"
        # (vcap may not follow the init's /proc/1/root: an error then.)
        if _tolerate(client.copy_out, target.handle, path, str(dst)):
            assert dst.read_text().strip() == hostname
    # And a copy in through .. lands in the container (or is refused there).
    (sandbox / "f").write_text("x")
    _tolerate(client.copy_in, target.handle, str(sandbox / "f"), "../../../../tmp/f")
    assert output(client, target.handle, "cat /tmp/f 2>/dev/null || echo none") in ("x", "none\n")


@settings(SETTINGS, max_examples=10)
@given(name=payload_paths, data=st.data())
def test_create_with_shell_payloads(
    client: Client, rootfs: Path, sandbox: Path, name: str, data: st.DataObject
) -> None:
    """Payloads in the rootfs path, the bind mounts' paths, the handle and the
    network: Create either fails with an error or makes a working container."""
    handle, network = data.draw(nasty_text(60)), data.draw(nasty_text())
    unique = f"{len(list(sandbox.iterdir()))}"
    link = sandbox / f"rootfs-{unique}" / name
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(rootfs)
    source = sandbox / f"bind-{unique}" / name
    source.mkdir(parents=True)
    (source / "seen").write_text("from the host\n")
    mount = BindMount(src_path=str(source), dst_path=f"/mnt/{name}", mode=BindMount.RO)
    for fields in (
        {"rootfs": str(link), "bind_mounts": [mount], "handle": handle},
        {"network": network},
    ):
        try:
            made = client.create(timeout=TIMEOUT, **fields).handle
        except ServerError as error:
            assert error.message.strip() and not INTERNAL.search(error.message), error.message
            continue
        try:
            if "bind_mounts" in fields:
                assert made == (handle or made)
                seen = client.run(made, f"cat {shlex.quote(f'/mnt/{name}/seen')}", timeout=TIMEOUT)
                assert seen.stdout == b"from the host\n", seen
        finally:
            client.destroy(made, timeout=TIMEOUT)
        assert not CANARY.exists()


@settings(SETTINGS, max_examples=15)
@given(network=nasty_text(), port_range=nasty_text(), log_tag=nasty_text())
def test_net_out_and_log_tag_with_shell_payloads(
    client: Client, target: Target, network: str, port_range: str, log_tag: str
) -> None:
    _tolerate(client.net_out, target.handle, network=network)
    _tolerate(client.net_out, target.handle, port_range=port_range)
    result = client.run(target.handle, "echo tagged", log_tag=log_tag, timeout=TIMEOUT)
    assert result.stdout == b"tagged\n"
    assert not CANARY.exists()


@pytest.mark.parametrize(
    "name",
    ["ends-in-newline\n", "two\n\n", "\nstarts", "-rf", "--help", "*", "a b", "$(x)", "x&y\\z"],
)
def test_copy_keeps_names_exactly(client: Client, target: Target, sandbox: Path, name: str) -> None:
    """File names as they are: none shortened (a trailing newline), none
    taken for an option or a pattern."""
    (sandbox / "in").mkdir()
    (sandbox / "in" / name).write_text("content\n")
    client.copy_in(target.handle, f"{sandbox}/in/", "/home/vcap/names", timeout=TIMEOUT)
    client.copy_out(target.handle, f"/home/vcap/names/{name}", f"{sandbox}/{name}", timeout=TIMEOUT)
    assert (sandbox / name).read_text() == "content\n"
    client.copy_in(target.handle, str(sandbox / "in" / name), f"/home/vcap/{name}", timeout=TIMEOUT)
    listed = client.run(target.handle, "cd; find . -maxdepth 1 -print0", timeout=TIMEOUT).stdout
    assert f"./{name}".encode() in listed.split(b"\0"), listed


def test_rlimits_that_crash_the_way_in_leave_no_core_on_the_host(
    server: LinuxTestServer, client: Client, target: Target
) -> None:
    """A stack too small for even the host-side programs that enter the
    container: the job fails, and their core dump does not land in the
    server's working directory (it goes with the job's directory)."""
    assert server.process is not None
    cwd = Path(f"/proc/{server.process.pid}/cwd").resolve()
    before = {p.name for p in cwd.iterdir()}
    limits = ResourceLimits(stack=4096, core=2**30)
    result = client.run(target.handle, "echo hi", rlimits=limits, timeout=TIMEOUT)
    assert result.exit_status != 0
    assert {p.name for p in cwd.iterdir()} == before


def test_insecure_rlimits_that_crash_the_job_leave_no_core_in_the_servers_directory(
    insecure: WardenServer,
) -> None:
    assert insecure.process is not None
    cwd = Path(f"/proc/{insecure.process.pid}/cwd").resolve()
    before = {p.name for p in cwd.iterdir()}
    with Client(insecure.socket_path) as client:
        handle = client.create(timeout=TIMEOUT).handle
        limits = ResourceLimits(stack=4096, core=2**30)
        result = client.run(handle, "echo hi", rlimits=limits, timeout=TIMEOUT)
        client.destroy(handle, timeout=TIMEOUT)
    assert result.exit_status != 0
    assert {p.name for p in cwd.iterdir()} == before


@pytest.mark.parametrize(
    "fields",
    [
        {"inode_limit": 2**64 - 1},
        {"inode_limit": 2**63},
        {"byte_limit": 2**64 - 1},
        {"block_limit": 2**64 - 1},
    ],
    ids=["inodes-2^64", "inodes-2^63", "bytes-2^64", "blocks-2^64"],
)
def test_disk_limits_too_large_for_an_image(
    client: Client, target: Target, fields: dict[str, int]
) -> None:
    """Refused at once with a reason (they wrapped round in disk.sh's 64-bit
    arithmetic: the inode ones made it create ballast files without end)."""
    with pytest.raises(ServerError, match="more than a disk image can"):
        client.limit_disk(target.handle, timeout=30, **fields)
    assert client.run(target.handle, "echo ok", timeout=TIMEOUT).stdout == b"ok\n"
