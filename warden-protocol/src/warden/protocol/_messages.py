"""Every generated message class, gathered under short names."""

from __future__ import annotations

from .pb.bulk_info_pb2 import BulkInfoRequest, BulkInfoResponse
from .pb.capacity_pb2 import CapacityRequest, CapacityResponse
from .pb.copy_in_pb2 import CopyInRequest, CopyInResponse
from .pb.copy_out_pb2 import CopyOutRequest, CopyOutResponse
from .pb.create_pb2 import CreateRequest, CreateResponse
from .pb.destroy_pb2 import DestroyRequest, DestroyResponse
from .pb.echo_pb2 import EchoRequest, EchoResponse
from .pb.error_pb2 import ErrorResponse
from .pb.info_pb2 import InfoRequest, InfoResponse
from .pb.limit_bandwidth_pb2 import LimitBandwidthRequest, LimitBandwidthResponse
from .pb.limit_cpu_pb2 import LimitCpuRequest, LimitCpuResponse
from .pb.limit_disk_pb2 import LimitDiskRequest, LimitDiskResponse
from .pb.limit_memory_pb2 import LimitMemoryRequest, LimitMemoryResponse
from .pb.link_pb2 import LinkRequest, LinkResponse
from .pb.list_pb2 import ListRequest, ListResponse
from .pb.message_pb2 import Message
from .pb.net_in_pb2 import NetInRequest, NetInResponse
from .pb.net_out_pb2 import NetOutRequest, NetOutResponse
from .pb.ping_pb2 import PingRequest, PingResponse
from .pb.properties_pb2 import (
    GetPropertyRequest,
    GetPropertyResponse,
    Property,
    RemovePropertyRequest,
    RemovePropertyResponse,
    SetPropertyRequest,
    SetPropertyResponse,
)
from .pb.resize_pb2 import ResizeRequest, ResizeResponse
from .pb.resource_limits_pb2 import ResourceLimits
from .pb.run_pb2 import RunRequest, RunResponse
from .pb.signal_pb2 import SignalRequest, SignalResponse
from .pb.spawn_pb2 import SpawnRequest, SpawnResponse
from .pb.stdin_pb2 import StdinRequest, StdinResponse
from .pb.stop_pb2 import StopRequest, StopResponse
from .pb.stream_in_pb2 import StreamInRequest, StreamInResponse
from .pb.stream_out_pb2 import StreamOutRequest, StreamOutResponse
from .pb.stream_pb2 import StreamRequest, StreamResponse
from .pb.tty_pb2 import TTY

__all__ = [
    "BulkInfoRequest",
    "BulkInfoResponse",
    "CapacityRequest",
    "CapacityResponse",
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
    "GetPropertyRequest",
    "GetPropertyResponse",
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
    "ResizeRequest",
    "ResizeResponse",
    "Property",
    "RemovePropertyRequest",
    "RemovePropertyResponse",
    "ResourceLimits",
    "RunRequest",
    "RunResponse",
    "SetPropertyRequest",
    "SetPropertyResponse",
    "SignalRequest",
    "SignalResponse",
    "SpawnRequest",
    "SpawnResponse",
    "StdinRequest",
    "StdinResponse",
    "StopRequest",
    "StopResponse",
    "StreamInRequest",
    "StreamInResponse",
    "StreamOutRequest",
    "StreamOutResponse",
    "StreamRequest",
    "StreamResponse",
    "TTY",
]
