from warden.protocol.pb import info_pb2 as _info_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LinkRequest(_message.Message):
    __slots__ = ("handle", "job_id")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    handle: str
    job_id: int
    def __init__(self, handle: _Optional[str] = ..., job_id: _Optional[int] = ...) -> None: ...

class LinkResponse(_message.Message):
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
