from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class CopyOutRequest(_message.Message):
    __slots__ = ("handle", "src_path", "dst_path", "owner")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    SRC_PATH_FIELD_NUMBER: _ClassVar[int]
    DST_PATH_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    handle: str
    src_path: str
    dst_path: str
    owner: str
    def __init__(self, handle: _Optional[str] = ..., src_path: _Optional[str] = ..., dst_path: _Optional[str] = ..., owner: _Optional[str] = ...) -> None: ...

class CopyOutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
