# -*- test-case-name: tests.repl.test_commands -*-
"""The shell's commands: one per request type of the protocol.

The table is derived from ``warden.protocol.REQUEST_TYPES``, so a request type
added to the protocol becomes a command; only its one-line description lives
here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from warden.protocol import REQUEST_TYPES, Request, type_underscored

from ._errors import CommandError
from ._tar_forms import FORMS
from ._terminal import ShellRequest

__all__ = [
    "COMMANDS",
    "Command",
    "field_description",
    "lookup_command",
]

_DESCRIPTIONS: Final[dict[str, str]] = {
    "bulk_info": "Show the info of many containers (every one without --handles).",
    "capacity": "Show the host's memory, disk and how many containers it can hold.",
    "copy_in": "Copy files or directories from the host into a container.",
    "copy_out": "Copy files or directories from a container to the host.",
    "create": "Create a container; every option may be left out.",
    "destroy": "Kill a container's processes and remove the container.",
    "echo": "Send a message and print the server's copy of it.",
    "get_property": "Print the value of a container's property.",
    "info": "Show a container's state, addresses, jobs and statistics.",
    "limit_bandwidth": "Set a container's network rate and burst, in bytes.",
    "limit_cpu": "Show or set a container's CPU shares.",
    "limit_disk": "Show or set a container's disk quota.",
    "limit_memory": "Show or set a container's memory limit, in bytes.",
    "link": "Wait for a job to end; print its output and exit with its status.",
    "list": "List the handles of the containers.",
    "net_in": "Forward a host port to a port of a container.",
    "net_out": "Let a container reach a network, port or port range.",
    "ping": "Check that the server answers.",
    "remove_property": "Remove a property from a container.",
    "resize": "Set the window size of a job's terminal (a job spawned with a tty).",
    "run": "Spawn a script, then stream its output; exit with its status.",
    "set_property": "Set a container's property (a key/value label).",
    "shell": "Open an interactive shell in a container; exit with its status.",
    "signal": "Send a signal (TERM, KILL, INT, HUP, QUIT, USR1, USR2) to a running job.",
    "spawn": "Start a script in a container and print its job id.",
    "stdin": "Write to the stdin (or terminal) of a job spawned with stdin or a tty.",
    "stop": "Stop every process in a container.",
    "stream": "Print a job's output as it arrives, until the job ends.",
    "stream_in": "Extract a local tar file or directory under a path in a container.",
    "stream_out": "Write a tar stream of a path in a container to a local file.",
}

# Help text of request fields, by "<message>.<field>" (message name without
# package). Fields not listed get no description.
_FIELD_DESCRIPTIONS: Final[dict[str, str]] = {
    "handle": "the container's handle",
    "CreateRequest.bind_mounts": "host directories to mount in the container (linux)",
    "CreateRequest.grace_time": "seconds without a client before the container is destroyed",
    "CreateRequest.handle": "the handle to give the container (default: its id)",
    "CreateRequest.network": "an address in the /30 subnet to give the container",
    "CreateRequest.rootfs": "a directory to use as the root filesystem (linux)",
    "BindMount.src_path": "the directory on the host",
    "BindMount.dst_path": "where it appears in the container",
    "BindMount.mode": "read-only or read-write",
    "StopRequest.background": "answer at once and stop in the background",
    "StopRequest.kill": "kill at once instead of asking processes to exit first",
    "SpawnRequest.script": "the bash script to run",
    "SpawnRequest.privileged": "run as root rather than the container's user",
    "SpawnRequest.rlimits": "resource limits for the script (setrlimit)",
    "SpawnRequest.discard_output": "throw the script's output away",
    "SpawnRequest.log_tag": "a tag for the script's log lines",
    "SpawnRequest.stdin": "keep the job's stdin open for stdin requests",
    "SpawnRequest.tty": "run the job on a pseudo-terminal of this size",
    "TTY.rows": "the terminal's rows",
    "TTY.columns": "the terminal's columns",
    "StdinRequest.job_id": "the job id that spawn printed",
    "StdinRequest.data": "what to write",
    "StdinRequest.eof": "then close the job's stdin (on a terminal: send EOF)",
    "ResizeRequest.job_id": "the job id that spawn printed",
    "ResizeRequest.rows": "the new number of rows",
    "ResizeRequest.columns": "the new number of columns",
    "ShellRequest.privileged": "run the shell as root rather than the container's user",
    "LinkRequest.job_id": "the job id that spawn printed",
    "StreamRequest.job_id": "the job id that spawn printed",
    "NetInRequest.host_port": "the port on the host (default: one from the pool)",
    "NetInRequest.container_port": "the port in the container (default: the host port)",
    "NetOutRequest.network": "an address, a CIDR network or a range a.b.c.d-e.f.g.h",
    "NetOutRequest.port": "a destination port",
    "NetOutRequest.port_range": "destination ports as MIN:MAX (wins over --port)",
    "NetOutRequest.protocol": "the protocol to allow (default: TCP)",
    "NetOutRequest.icmp_type": "ICMP type, -1 for any",
    "NetOutRequest.icmp_code": "ICMP code, -1 for any",
    "NetOutRequest.log": "log new connections that match",
    "CopyInRequest.src_path": "the path on the host",
    "CopyInRequest.dst_path": "the path in the container",
    "CopyOutRequest.src_path": "the path in the container",
    "CopyOutRequest.dst_path": "the path on the host",
    "CopyOutRequest.owner": "USER:GROUP to own the copied files",
    "LimitMemoryRequest.limit_in_bytes": "the new limit (leave out to show the current one)",
    "LimitDiskRequest.block_limit": "hard limit in blocks (alias of --block_hard)",
    "LimitDiskRequest.block": "hard limit in blocks (alias of --block_hard)",
    "LimitDiskRequest.block_soft": "soft limit in blocks",
    "LimitDiskRequest.block_hard": "hard limit in blocks",
    "LimitDiskRequest.inode_limit": "hard limit in inodes (alias of --inode_hard)",
    "LimitDiskRequest.inode": "hard limit in inodes (alias of --inode_hard)",
    "LimitDiskRequest.inode_soft": "soft limit in inodes",
    "LimitDiskRequest.inode_hard": "hard limit in inodes",
    "LimitDiskRequest.byte_limit": "hard limit in bytes (alias of --byte_hard)",
    "LimitDiskRequest.byte": "hard limit in bytes (alias of --byte_hard)",
    "LimitDiskRequest.byte_soft": "soft limit in bytes",
    "LimitDiskRequest.byte_hard": "hard limit in bytes",
    "LimitBandwidthRequest.rate": "bytes per second",
    "LimitBandwidthRequest.burst": "bytes that may be sent at once",
    "LimitCpuRequest.limit_in_shares": "the new shares (leave out to show the current ones)",
    "EchoRequest.message": "the message",
    "CreateRequest.properties": "labels to keep with the container (or KEY=VALUE)",
    "ListRequest.properties": "only containers with every one of these (or KEY=VALUE)",
    "Property.key": "the property's name",
    "Property.value": "the property's value",
    "SetPropertyRequest.key": "the property's name",
    "SetPropertyRequest.value": "the property's value",
    "GetPropertyRequest.key": "the property's name",
    "RemovePropertyRequest.key": "the property's name",
    "BulkInfoRequest.handles": "the containers' handles (or repeat --handles H)",
    "SignalRequest.job_id": "the job id that spawn printed",
    "SignalRequest.signal": "TERM, KILL, INT, HUP, QUIT, USR1 or USR2 (SIG prefix, any case)",
    "StreamInForm.src": "a local tar file, or a directory to send as one",
    "StreamInForm.dst": "the directory in the container to extract under (made if missing)",
    "StreamOutForm.src": "the path in the container (ending in /: its contents)",
    "StreamOutForm.dst": "the local file the tar stream is written to",
}
# Run takes exactly Spawn's fields.
_FIELD_DESCRIPTIONS.update(
    {
        "RunRequest." + key.split(".", 1)[1]: text
        for key, text in list(_FIELD_DESCRIPTIONS.items())
        if key.startswith("SpawnRequest.")
    }
)


@dataclass(frozen=True)
class Command:
    """One shell command: its name, request class and one-line description."""

    name: str
    request_class: type[Request]
    description: str
    #: The message whose fields are the flags, when not the request's own
    #: (``stream_in`` and ``stream_out`` take local paths: ``_tar_forms``).
    form: type[Message] | None = None

    @property
    def flags_class(self) -> type[Message]:
        """The message the flags fill in: the request, or the command's form."""
        return self.form if self.form is not None else self.request_class

    @property
    def descriptor(self) -> Descriptor:
        """The flags' protobuf descriptor (the request's fields, or the form's)."""
        return cast(Descriptor, self.flags_class.DESCRIPTOR)


def _build() -> dict[str, Command]:
    table = {}
    for cls in REQUEST_TYPES.values():
        name = type_underscored(cls)
        table[name] = Command(name, cls, _DESCRIPTIONS.get(name, ""), FORMS.get(name))
    # The shell's own command, no request of the protocol (see _terminal.py).
    table["shell"] = Command("shell", ShellRequest, _DESCRIPTIONS["shell"])
    return dict(sorted(table.items()))


#: Command name -> Command, sorted by name.
COMMANDS: Final[dict[str, Command]] = _build()


def lookup_command(name: str) -> Command:
    """The command called ``name`` (any case); CommandError if there is none."""
    command = COMMANDS.get(name.lower())
    if command is None:
        raise CommandError(f"Command: '{name.lower()}' is non-existent.")
    return command


def field_description(field: FieldDescriptor) -> str:
    """What a request field means, for ``COMMAND --help``; empty if unknown."""
    owner = field.containing_type.name if field.containing_type is not None else ""
    key = f"{owner}.{field.name}"
    if key in _FIELD_DESCRIPTIONS:
        return _FIELD_DESCRIPTIONS[key]
    if owner == "ResourceLimits":
        return f"RLIMIT_{field.name.upper()}"
    if field.name == "handle" and owner != "CreateRequest":
        return _FIELD_DESCRIPTIONS["handle"]
    return ""
