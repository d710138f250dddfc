from warden.protocol.pb import info_pb2 as _info_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BulkInfoRequest(_message.Message):
    __slots__ = ("handles",)
    HANDLES_FIELD_NUMBER: _ClassVar[int]
    handles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, handles: _Optional[_Iterable[str]] = ...) -> None: ...

class BulkInfoResponse(_message.Message):
    __slots__ = ("entries",)
    class Entry(_message.Message):
        __slots__ = ("handle", "info", "error")
        HANDLE_FIELD_NUMBER: _ClassVar[int]
        INFO_FIELD_NUMBER: _ClassVar[int]
        ERROR_FIELD_NUMBER: _ClassVar[int]
        handle: str
        info: _info_pb2.InfoResponse
        error: str
        def __init__(self, handle: _Optional[str] = ..., info: _Optional[_Union[_info_pb2.InfoResponse, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[BulkInfoResponse.Entry]
    def __init__(self, entries: _Optional[_Iterable[_Union[BulkInfoResponse.Entry, _Mapping]]] = ...) -> None: ...
