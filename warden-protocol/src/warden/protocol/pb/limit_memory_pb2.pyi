from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class LimitMemoryRequest(_message.Message):
    __slots__ = ("handle", "limit_in_bytes")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_IN_BYTES_FIELD_NUMBER: _ClassVar[int]
    handle: str
    limit_in_bytes: int
    def __init__(self, handle: _Optional[str] = ..., limit_in_bytes: _Optional[int] = ...) -> None: ...

class LimitMemoryResponse(_message.Message):
    __slots__ = ("limit_in_bytes",)
    LIMIT_IN_BYTES_FIELD_NUMBER: _ClassVar[int]
    limit_in_bytes: int
    def __init__(self, limit_in_bytes: _Optional[int] = ...) -> None: ...
