from warden.protocol.pb import properties_pb2 as _properties_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateRequest(_message.Message):
    __slots__ = ("bind_mounts", "grace_time", "handle", "network", "rootfs", "properties")
    class BindMount(_message.Message):
        __slots__ = ("src_path", "dst_path", "mode")
        class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
            __slots__ = ()
            RO: _ClassVar[CreateRequest.BindMount.Mode]
            RW: _ClassVar[CreateRequest.BindMount.Mode]
        RO: CreateRequest.BindMount.Mode
        RW: CreateRequest.BindMount.Mode
        SRC_PATH_FIELD_NUMBER: _ClassVar[int]
        DST_PATH_FIELD_NUMBER: _ClassVar[int]
        MODE_FIELD_NUMBER: _ClassVar[int]
        src_path: str
        dst_path: str
        mode: CreateRequest.BindMount.Mode
        def __init__(self, src_path: _Optional[str] = ..., dst_path: _Optional[str] = ..., mode: _Optional[_Union[CreateRequest.BindMount.Mode, str]] = ...) -> None: ...
    BIND_MOUNTS_FIELD_NUMBER: _ClassVar[int]
    GRACE_TIME_FIELD_NUMBER: _ClassVar[int]
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    ROOTFS_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    bind_mounts: _containers.RepeatedCompositeFieldContainer[CreateRequest.BindMount]
    grace_time: int
    handle: str
    network: str
    rootfs: str
    properties: _containers.RepeatedCompositeFieldContainer[_properties_pb2.Property]
    def __init__(self, bind_mounts: _Optional[_Iterable[_Union[CreateRequest.BindMount, _Mapping]]] = ..., grace_time: _Optional[int] = ..., handle: _Optional[str] = ..., network: _Optional[str] = ..., rootfs: _Optional[str] = ..., properties: _Optional[_Iterable[_Union[_properties_pb2.Property, _Mapping]]] = ...) -> None: ...

class CreateResponse(_message.Message):
    __slots__ = ("handle",)
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    handle: str
    def __init__(self, handle: _Optional[str] = ...) -> None: ...
