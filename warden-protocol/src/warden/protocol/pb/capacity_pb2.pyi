from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class CapacityRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CapacityResponse(_message.Message):
    __slots__ = ("memory_in_bytes", "disk_in_bytes", "max_containers")
    MEMORY_IN_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISK_IN_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    memory_in_bytes: int
    disk_in_bytes: int
    max_containers: int
    def __init__(self, memory_in_bytes: _Optional[int] = ..., disk_in_bytes: _Optional[int] = ..., max_containers: _Optional[int] = ...) -> None: ...
