"""The warden wire contract.

Every request and response of the protocol as a generated protobuf class, the
length framing, the ``Message`` envelope and the helpers the clients, the
server and the shell share::

    >>> from warden.protocol import EchoRequest, request_to_wire
    >>> request_to_wire(EchoRequest(message="hi"))
    b'8\\r\\n\\x08]\\x12\\x04\\n\\x02hi\\r\\n'

Errors: everything this package raises for bad bytes or bad messages is a
``ProtocolError``; ``ConversionError`` (a ``ValueError``) is for text that does
not convert to a field's type.

What both clients share lives here too, so that neither client depends on the
other: ``warden.protocol.errors`` (the ``ClientError`` tree both raise) and
``warden.protocol.v1`` (the v1 command translation).
"""

from typing import Final

from ._convert import ConversionError, convert_text, field_type_text
from ._envelope import (
    MessageDecoder,
    decode_message,
    encode_message,
    filtered_dict,
    request_to_wire,
    response_to_wire,
    to_dict,
    unwrap,
    unwrap_request,
    unwrap_response,
    wrap,
)
from ._framing import DEFAULT_MAX_FRAME_SIZE, FrameDecoder, encode_frame
from ._messages import (
    CopyInRequest,
    CopyInResponse,
    CopyOutRequest,
    CopyOutResponse,
    CreateRequest,
    CreateResponse,
    DestroyRequest,
    DestroyResponse,
    EchoRequest,
    EchoResponse,
    ErrorResponse,
    InfoRequest,
    InfoResponse,
    LimitBandwidthRequest,
    LimitBandwidthResponse,
    LimitCpuRequest,
    LimitCpuResponse,
    LimitDiskRequest,
    LimitDiskResponse,
    LimitMemoryRequest,
    LimitMemoryResponse,
    LinkRequest,
    LinkResponse,
    ListRequest,
    ListResponse,
    Message,
    NetInRequest,
    NetInResponse,
    NetOutRequest,
    NetOutResponse,
    PingRequest,
    PingResponse,
    ResourceLimits,
    RunRequest,
    RunResponse,
    SpawnRequest,
    SpawnResponse,
    StopRequest,
    StopResponse,
    StreamInRequest,
    StreamInResponse,
    StreamOutRequest,
    StreamOutResponse,
    StreamRequest,
    StreamResponse,
)
from ._types import (
    REQUEST_TYPES,
    RESPONSE_TYPES,
    Request,
    Response,
    filtered_fields,
    is_error,
    is_request,
    is_response,
    request_class,
    response_class,
    response_class_for,
    type_name,
    type_number,
    type_underscored,
)
from .errors import ProtocolError

#: Where the server listens unless configured otherwise (both clients' default).
DEFAULT_SOCKET_PATH: Final = "/tmp/warden.sock"

#: Fields that carry job output and so hold arbitrary bytes.
BYTES_FIELDS = (
    "LinkResponse.stdout",
    "LinkResponse.stderr",
    "RunResponse.stdout",
    "RunResponse.stderr",
    "StreamResponse.data",
    "StreamInRequest.data",
    "StreamOutResponse.data",
)

__all__ = [
    "BYTES_FIELDS",
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_SOCKET_PATH",
    "REQUEST_TYPES",
    "RESPONSE_TYPES",
    "ConversionError",
    "FrameDecoder",
    "MessageDecoder",
    "ProtocolError",
    "Request",
    "Response",
    "convert_text",
    "decode_message",
    "encode_frame",
    "encode_message",
    "field_type_text",
    "filtered_dict",
    "filtered_fields",
    "is_error",
    "is_request",
    "is_response",
    "request_class",
    "request_to_wire",
    "response_class",
    "response_class_for",
    "response_to_wire",
    "to_dict",
    "type_name",
    "type_number",
    "type_underscored",
    "unwrap",
    "unwrap_request",
    "unwrap_response",
    "wrap",
    "CopyInRequest",
    "CopyInResponse",
    "CopyOutRequest",
    "CopyOutResponse",
    "CreateRequest",
    "CreateResponse",
    "DestroyRequest",
    "DestroyResponse",
    "EchoRequest",
    "EchoResponse",
    "ErrorResponse",
    "InfoRequest",
    "InfoResponse",
    "LimitBandwidthRequest",
    "LimitBandwidthResponse",
    "LimitCpuRequest",
    "LimitCpuResponse",
    "LimitDiskRequest",
    "LimitDiskResponse",
    "LimitMemoryRequest",
    "LimitMemoryResponse",
    "LinkRequest",
    "LinkResponse",
    "ListRequest",
    "ListResponse",
    "Message",
    "NetInRequest",
    "NetInResponse",
    "NetOutRequest",
    "NetOutResponse",
    "PingRequest",
    "PingResponse",
    "ResourceLimits",
    "RunRequest",
    "RunResponse",
    "SpawnRequest",
    "SpawnResponse",
    "StopRequest",
    "StopResponse",
    "StreamRequest",
    "StreamResponse",
    "StreamInRequest",
    "StreamInResponse",
    "StreamOutRequest",
    "StreamOutResponse",
]
