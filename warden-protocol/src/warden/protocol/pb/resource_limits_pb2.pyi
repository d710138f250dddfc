from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class ResourceLimits(_message.Message):
    __slots__ = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "sigpending", "stack")
    AS_FIELD_NUMBER: _ClassVar[int]
    CORE_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FSIZE_FIELD_NUMBER: _ClassVar[int]
    LOCKS_FIELD_NUMBER: _ClassVar[int]
    MEMLOCK_FIELD_NUMBER: _ClassVar[int]
    MSGQUEUE_FIELD_NUMBER: _ClassVar[int]
    NICE_FIELD_NUMBER: _ClassVar[int]
    NOFILE_FIELD_NUMBER: _ClassVar[int]
    NPROC_FIELD_NUMBER: _ClassVar[int]
    RSS_FIELD_NUMBER: _ClassVar[int]
    RTPRIO_FIELD_NUMBER: _ClassVar[int]
    SIGPENDING_FIELD_NUMBER: _ClassVar[int]
    STACK_FIELD_NUMBER: _ClassVar[int]
    core: int
    cpu: int
    data: int
    fsize: int
    locks: int
    memlock: int
    msgqueue: int
    nice: int
    nofile: int
    nproc: int
    rss: int
    rtprio: int
    sigpending: int
    stack: int
    def __init__(self, core: _Optional[int] = ..., cpu: _Optional[int] = ..., data: _Optional[int] = ..., fsize: _Optional[int] = ..., locks: _Optional[int] = ..., memlock: _Optional[int] = ..., msgqueue: _Optional[int] = ..., nice: _Optional[int] = ..., nofile: _Optional[int] = ..., nproc: _Optional[int] = ..., rss: _Optional[int] = ..., rtprio: _Optional[int] = ..., sigpending: _Optional[int] = ..., stack: _Optional[int] = ..., **kwargs) -> None: ...
