from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Message(_message.Message):
    __slots__ = ("type", "payload")
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        Error: _ClassVar[Message.Type]
        Create: _ClassVar[Message.Type]
        Stop: _ClassVar[Message.Type]
        Destroy: _ClassVar[Message.Type]
        Info: _ClassVar[Message.Type]
        Spawn: _ClassVar[Message.Type]
        Link: _ClassVar[Message.Type]
        Run: _ClassVar[Message.Type]
        Stream: _ClassVar[Message.Type]
        NetIn: _ClassVar[Message.Type]
        NetOut: _ClassVar[Message.Type]
        CopyIn: _ClassVar[Message.Type]
        CopyOut: _ClassVar[Message.Type]
        LimitMemory: _ClassVar[Message.Type]
        LimitDisk: _ClassVar[Message.Type]
        LimitBandwidth: _ClassVar[Message.Type]
        LimitCpu: _ClassVar[Message.Type]
        Ping: _ClassVar[Message.Type]
        List: _ClassVar[Message.Type]
        Echo: _ClassVar[Message.Type]
        SetProperty: _ClassVar[Message.Type]
        GetProperty: _ClassVar[Message.Type]
        RemoveProperty: _ClassVar[Message.Type]
        BulkInfo: _ClassVar[Message.Type]
        Signal: _ClassVar[Message.Type]
        Capacity: _ClassVar[Message.Type]
        Stdin: _ClassVar[Message.Type]
        Resize: _ClassVar[Message.Type]
        StreamIn: _ClassVar[Message.Type]
        StreamOut: _ClassVar[Message.Type]
    Error: Message.Type
    Create: Message.Type
    Stop: Message.Type
    Destroy: Message.Type
    Info: Message.Type
    Spawn: Message.Type
    Link: Message.Type
    Run: Message.Type
    Stream: Message.Type
    NetIn: Message.Type
    NetOut: Message.Type
    CopyIn: Message.Type
    CopyOut: Message.Type
    LimitMemory: Message.Type
    LimitDisk: Message.Type
    LimitBandwidth: Message.Type
    LimitCpu: Message.Type
    Ping: Message.Type
    List: Message.Type
    Echo: Message.Type
    SetProperty: Message.Type
    GetProperty: Message.Type
    RemoveProperty: Message.Type
    BulkInfo: Message.Type
    Signal: Message.Type
    Capacity: Message.Type
    Stdin: Message.Type
    Resize: Message.Type
    StreamIn: Message.Type
    StreamOut: Message.Type
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    type: Message.Type
    payload: bytes
    def __init__(self, type: _Optional[_Union[Message.Type, str]] = ..., payload: _Optional[bytes] = ...) -> None: ...
