from warden.protocol.pb import resource_limits_pb2 as _resource_limits_pb2
from warden.protocol.pb import info_pb2 as _info_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RunRequest(_message.Message):
    __slots__ = ("handle", "script", "privileged", "rlimits", "discard_output", "log_tag")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    SCRIPT_FIELD_NUMBER: _ClassVar[int]
    PRIVILEGED_FIELD_NUMBER: _ClassVar[int]
    RLIMITS_FIELD_NUMBER: _ClassVar[int]
    DISCARD_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    LOG_TAG_FIELD_NUMBER: _ClassVar[int]
    handle: str
    script: str
    privileged: bool
    rlimits: _resource_limits_pb2.ResourceLimits
    discard_output: bool
    log_tag: str
    def __init__(self, handle: _Optional[str] = ..., script: _Optional[str] = ..., privileged: _Optional[bool] = ..., rlimits: _Optional[_Union[_resource_limits_pb2.ResourceLimits, _Mapping]] = ..., discard_output: _Optional[bool] = ..., log_tag: _Optional[str] = ...) -> None: ...

class RunResponse(_message.Message):
    __slots__ = ("exit_status", "stdout", "stderr", "info")
    EXIT_STATUS_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    exit_status: int
    stdout: bytes
    stderr: bytes
    info: _info_pb2.InfoResponse
    def __init__(self, exit_status: _Optional[int] = ..., stdout: _Optional[bytes] = ..., stderr: _Optional[bytes] = ..., info: _Optional[_Union[_info_pb2.InfoResponse, _Mapping]] = ...) -> None: ...
