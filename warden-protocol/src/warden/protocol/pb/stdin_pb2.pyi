from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class StdinRequest(_message.Message):
    __slots__ = ("handle", "job_id", "data", "eof")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EOF_FIELD_NUMBER: _ClassVar[int]
    handle: str
    job_id: int
    data: bytes
    eof: bool
    def __init__(self, handle: _Optional[str] = ..., job_id: _Optional[int] = ..., data: _Optional[bytes] = ..., eof: _Optional[bool] = ...) -> None: ...

class StdinResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
