from warden.protocol.pb import info_pb2 as _info_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamRequest(_message.Message):
    __slots__ = ("handle", "job_id")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    handle: str
    job_id: int
    def __init__(self, handle: _Optional[str] = ..., job_id: _Optional[int] = ...) -> None: ...

class StreamResponse(_message.Message):
    __slots__ = ("name", "data", "exit_status", "info")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EXIT_STATUS_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    name: str
    data: bytes
    exit_status: int
    info: _info_pb2.InfoResponse
    def __init__(self, name: _Optional[str] = ..., data: _Optional[bytes] = ..., exit_status: _Optional[int] = ..., info: _Optional[_Union[_info_pb2.InfoResponse, _Mapping]] = ...) -> None: ...
