# -*- test-case-name: tests.repl.test_commands,tests.repl.test_cli -*-
"""The shell's forms of StreamIn and StreamOut, which move local files.

A request's flags are its fields, but StreamIn carries chunks of a tar
stream and StreamOut answers with them: at the shell they take a local
path instead. Each gets a message of its own (made here, in a descriptor
pool of the shell's, never sent) whose fields are the command's flags, so
that help, completion and flag parsing treat them as any other command::

    stream_in  --handle H --src LOCAL_TAR_OR_DIR --dst PATH
    stream_out --handle H --src PATH --dst LOCAL_FILE
"""

from __future__ import annotations

from typing import Final

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

__all__ = ["FORMS", "StreamInForm", "StreamOutForm"]

_F = descriptor_pb2.FieldDescriptorProto


def _forms() -> dict[str, type[Message]]:
    file = descriptor_pb2.FileDescriptorProto(
        name="warden/client/_repl/tar_forms.proto", package="warden.shell", syntax="proto2"
    )
    for name in ("StreamInForm", "StreamOutForm"):
        message = file.message_type.add(name=name)
        for number, field in enumerate(("handle", "src", "dst"), start=1):
            message.field.add(
                name=field, number=number, type=_F.TYPE_STRING, label=_F.LABEL_REQUIRED
            )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"warden.shell.{name}"))
        for name in ("StreamInForm", "StreamOutForm")
    }


_FORMS = _forms()
#: ``stream_in``'s flags: ``handle``, ``src`` (a local tar file or directory), ``dst``.
StreamInForm: Final = _FORMS["StreamInForm"]
#: ``stream_out``'s flags: ``handle``, ``src`` (a path in the container), ``dst`` (a local file).
StreamOutForm: Final = _FORMS["StreamOutForm"]

#: Command name -> the message whose fields are its flags.
FORMS: Final[dict[str, type[Message]]] = {"stream_in": StreamInForm, "stream_out": StreamOutForm}
