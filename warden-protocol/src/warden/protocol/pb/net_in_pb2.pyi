from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class NetInRequest(_message.Message):
    __slots__ = ("handle", "host_port", "container_port")
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    HOST_PORT_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_PORT_FIELD_NUMBER: _ClassVar[int]
    handle: str
    host_port: int
    container_port: int
    def __init__(self, handle: _Optional[str] = ..., host_port: _Optional[int] = ..., container_port: _Optional[int] = ...) -> None: ...

class NetInResponse(_message.Message):
    __slots__ = ("host_port", "container_port")
    HOST_PORT_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_PORT_FIELD_NUMBER: _ClassVar[int]
    host_port: int
    container_port: int
    def __init__(self, host_port: _Optional[int] = ..., container_port: _Optional[int] = ...) -> None: ...
