from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class LimitCpuRequest(_message.Message):
    __slots__ = ("handle", "limit_in_shares")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_IN_SHARES_FIELD_NUMBER: _ClassVar[int]
    handle: str
    limit_in_shares: int
    def __init__(self, handle: _Optional[str] = ..., limit_in_shares: _Optional[int] = ...) -> None: ...

class LimitCpuResponse(_message.Message):
    __slots__ = ("limit_in_shares",)
    LIMIT_IN_SHARES_FIELD_NUMBER: _ClassVar[int]
    limit_in_shares: int
    def __init__(self, limit_in_shares: _Optional[int] = ...) -> None: ...
