from warden.protocol.pb import resource_limits_pb2 as _resource_limits_pb2
from warden.protocol.pb import tty_pb2 as _tty_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SpawnRequest(_message.Message):
    __slots__ = ("handle", "script", "privileged", "rlimits", "discard_output", "log_tag", "stdin", "tty")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    PRIVILEGED_FIELD_NUMBER: _ClassVar[int]
    RLIMITS_FIELD_NUMBER: _ClassVar[int]
    DISCARD_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    LOG_TAG_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    TTY_FIELD_NUMBER: _ClassVar[int]
    handle: str
    script: str
    privileged: bool
    rlimits: _resource_limits_pb2.ResourceLimits
    discard_output: bool
    log_tag: str
    stdin: bool
    tty: _tty_pb2.TTY
    def __init__(self, handle: _Optional[str] = ..., script: _Optional[str] = ..., privileged: _Optional[bool] = ..., rlimits: _Optional[_Union[_resource_limits_pb2.ResourceLimits, _Mapping]] = ..., discard_output: _Optional[bool] = ..., log_tag: _Optional[str] = ..., stdin: _Optional[bool] = ..., tty: _Optional[_Union[_tty_pb2.TTY, _Mapping]] = ...) -> None: ...

class SpawnResponse(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    def __init__(self, job_id: _Optional[int] = ...) -> None: ...
