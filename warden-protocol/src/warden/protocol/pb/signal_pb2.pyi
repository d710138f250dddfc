from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class SignalRequest(_message.Message):
    __slots__ = ("handle", "job_id", "signal")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    handle: str
    job_id: int
    signal: str
    def __init__(self, handle: _Optional[str] = ..., job_id: _Optional[int] = ..., signal: _Optional[str] = ...) -> None: ...

class SignalResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
