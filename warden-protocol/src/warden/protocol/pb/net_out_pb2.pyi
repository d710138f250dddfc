from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NetOutRequest(_message.Message):
    __slots__ = ("handle", "network", "port", "port_range", "protocol", "icmp_type", "icmp_code", "log")
    class Protocol(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        TCP: _ClassVar[NetOutRequest.Protocol]
        UDP: _ClassVar[NetOutRequest.Protocol]
        ICMP: _ClassVar[NetOutRequest.Protocol]
        ALL: _ClassVar[NetOutRequest.Protocol]
    TCP: NetOutRequest.Protocol
    UDP: NetOutRequest.Protocol
    ICMP: NetOutRequest.Protocol
    ALL: NetOutRequest.Protocol
    HANDLE_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    PORT_RANGE_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    ICMP_TYPE_FIELD_NUMBER: _ClassVar[int]
    ICMP_CODE_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    handle: str
    network: str
    port: int
    port_range: str
    protocol: NetOutRequest.Protocol
    icmp_type: int
    icmp_code: int
    log: bool
    def __init__(self, handle: _Optional[str] = ..., network: _Optional[str] = ..., port: _Optional[int] = ..., port_range: _Optional[str] = ..., protocol: _Optional[_Union[NetOutRequest.Protocol, str]] = ..., icmp_type: _Optional[int] = ..., icmp_code: _Optional[int] = ..., log: _Optional[bool] = ...) -> None: ...

class NetOutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
