from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class LimitBandwidthRequest(_message.Message):
    __slots__ = ("handle", "rate", "burst")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    BURST_FIELD_NUMBER: _ClassVar[int]
    handle: str
    rate: int
    burst: int
    def __init__(self, handle: _Optional[str] = ..., rate: _Optional[int] = ..., burst: _Optional[int] = ...) -> None: ...

class LimitBandwidthResponse(_message.Message):
    __slots__ = ("rate", "burst")
    RATE_FIELD_NUMBER: _ClassVar[int]
    BURST_FIELD_NUMBER: _ClassVar[int]
    rate: int
    burst: int
    def __init__(self, rate: _Optional[int] = ..., burst: _Optional[int] = ...) -> None: ...
