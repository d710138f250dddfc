from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorResponse(_message.Message):
    __slots__ = ("message", "data", "backtrace")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    BACKTRACE_FIELD_NUMBER: _ClassVar[int]
    message: str
    data: str
    backtrace: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, message: _Optional[str] = ..., data: _Optional[str] = ..., backtrace: _Optional[_Iterable[str]] = ...) -> None: ...
