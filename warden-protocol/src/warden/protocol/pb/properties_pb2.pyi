from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Property(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class SetPropertyRequest(_message.Message):
    __slots__ = ("handle", "key", "value")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    handle: str
    key: str
    value: str
    def __init__(self, handle: _Optional[str] = ..., key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class SetPropertyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPropertyRequest(_message.Message):
    __slots__ = ("handle", "key")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    handle: str
    key: str
    def __init__(self, handle: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class GetPropertyResponse(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: str
    def __init__(self, value: _Optional[str] = ...) -> None: ...

class RemovePropertyRequest(_message.Message):
    __slots__ = ("handle", "key")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    handle: str
    key: str
    def __init__(self, handle: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class RemovePropertyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
