from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class StreamOutRequest(_message.Message):
    __slots__ = ("handle", "src_path")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    SRC_PATH_FIELD_NUMBER: _ClassVar[int]
    handle: str
    src_path: str
    def __init__(self, handle: _Optional[str] = ..., src_path: _Optional[str] = ...) -> None: ...

class StreamOutResponse(_message.Message):
    __slots__ = ("data", "done")
    DATA_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    done: bool
    def __init__(self, data: _Optional[bytes] = ..., done: _Optional[bool] = ...) -> None: ...
