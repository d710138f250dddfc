# Generated from warden.protocol's type map by `make proto`: do not edit.
"""Typed convenience methods (warden.twisted_client._methods), one per request type."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any, overload

from twisted.internet.defer import Deferred

from warden.protocol import (
    TTY,
    BulkInfoRequest,
    BulkInfoResponse,
    CapacityRequest,
    CapacityResponse,
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
    GetPropertyRequest,
    GetPropertyResponse,
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
    NetInRequest,
    NetInResponse,
    NetOutRequest,
    NetOutResponse,
    PingRequest,
    PingResponse,
    Property,
    RemovePropertyRequest,
    RemovePropertyResponse,
    Request,
    ResizeRequest,
    ResizeResponse,
    ResourceLimits,
    RunRequest,
    RunResponse,
    SetPropertyRequest,
    SetPropertyResponse,
    SignalRequest,
    SignalResponse,
    SpawnRequest,
    SpawnResponse,
    StdinRequest,
    StdinResponse,
    StopRequest,
    StopResponse,
    bulk_info_result,
    property_list,
    property_value,
    tty_size,
)
from warden.protocol.errors import ServerError

__all__ = ["DeferredRequestMethods"]


class DeferredRequestMethods:
    """One method per request type; each returns a Deferred of the response.

    Required fields are positional, in declaration order; optional ones are
    keyword-only and left unset when None. The requests answered by many
    frames have none here: ``stream()``, ``stream_in()`` and ``stream_out()``
    serve them.
    """

    def _send(self, request: Any) -> Any:
        """Send one v2 request; its response, never a v1 value."""
        raise NotImplementedError

    def _call(self, request: Any) -> Any:
        """Send a request or a v1 command; the response or the v1 value."""
        raise NotImplementedError

    def create(
        self,
        *,
        bind_mounts: Iterable[CreateRequest.BindMount | Mapping[str, Any]] | None = None,
        grace_time: int | None = None,
        handle: str | None = None,
        network: str | None = None,
        rootfs: str | None = None,
        properties: Mapping[str, str] | Iterable[Property | Mapping[str, Any]] | None = None,
    ) -> Deferred[CreateResponse]:
        """Send ``CreateRequest``, return ``CreateResponse``."""
        request = CreateRequest(
            bind_mounts=bind_mounts,
            grace_time=grace_time,
            handle=handle,
            network=network,
            rootfs=rootfs,
            properties=property_list(properties),
        )
        response: Deferred[CreateResponse] = self._send(request)
        return response

    def stop(
        self,
        handle: str,
        *,
        background: bool | None = None,
        kill: bool | None = None,
    ) -> Deferred[StopResponse]:
        """Send ``StopRequest``, return ``StopResponse``."""
        request = StopRequest(
            handle=handle,
            background=background,
            kill=kill,
        )
        response: Deferred[StopResponse] = self._send(request)
        return response

    def destroy(
        self,
        handle: str,
    ) -> Deferred[DestroyResponse]:
        """Send ``DestroyRequest``, return ``DestroyResponse``."""
        request = DestroyRequest(
            handle=handle,
        )
        response: Deferred[DestroyResponse] = self._send(request)
        return response

    def info(
        self,
        handle: str,
    ) -> Deferred[InfoResponse]:
        """Send ``InfoRequest``, return ``InfoResponse``."""
        request = InfoRequest(
            handle=handle,
        )
        response: Deferred[InfoResponse] = self._send(request)
        return response

    def spawn(
        self,
        handle: str,
        script: str,
        *,
        privileged: bool | None = None,
        rlimits: ResourceLimits | Mapping[str, Any] | None = None,
        discard_output: bool | None = None,
        log_tag: str | None = None,
        stdin: bool | None = None,
        tty: TTY | tuple[int, int] | Mapping[str, Any] | None = None,
    ) -> Deferred[SpawnResponse]:
        """Send ``SpawnRequest``, return ``SpawnResponse``."""
        request = SpawnRequest(
            handle=handle,
            script=script,
            privileged=privileged,
            rlimits=rlimits,
            discard_output=discard_output,
            log_tag=log_tag,
            stdin=stdin,
            tty=tty_size(tty),
        )
        response: Deferred[SpawnResponse] = self._send(request)
        return response

    def link(
        self,
        handle: str,
        job_id: int,
    ) -> Deferred[LinkResponse]:
        """Send ``LinkRequest``, return ``LinkResponse``."""
        request = LinkRequest(
            handle=handle,
            job_id=job_id,
        )
        response: Deferred[LinkResponse] = self._send(request)
        return response

    def run(
        self,
        handle: str,
        script: str,
        *,
        privileged: bool | None = None,
        rlimits: ResourceLimits | Mapping[str, Any] | None = None,
        discard_output: bool | None = None,
        log_tag: str | None = None,
    ) -> Deferred[RunResponse]:
        """Send ``RunRequest``, return ``RunResponse``."""
        request = RunRequest(
            handle=handle,
            script=script,
            privileged=privileged,
            rlimits=rlimits,
            discard_output=discard_output,
            log_tag=log_tag,
        )
        response: Deferred[RunResponse] = self._send(request)
        return response

    def net_in(
        self,
        handle: str,
        *,
        host_port: int | None = None,
        container_port: int | None = None,
    ) -> Deferred[NetInResponse]:
        """Send ``NetInRequest``, return ``NetInResponse``."""
        request = NetInRequest(
            handle=handle,
            host_port=host_port,
            container_port=container_port,
        )
        response: Deferred[NetInResponse] = self._send(request)
        return response

    def net_out(
        self,
        handle: str,
        *,
        network: str | None = None,
        port: int | None = None,
        port_range: str | None = None,
        protocol: NetOutRequest.Protocol | str | None = None,
        icmp_type: int | None = None,
        icmp_code: int | None = None,
        log: bool | None = None,
    ) -> Deferred[NetOutResponse]:
        """Send ``NetOutRequest``, return ``NetOutResponse``."""
        request = NetOutRequest(
            handle=handle,
            network=network,
            port=port,
            port_range=port_range,
            protocol=protocol,
            icmp_type=icmp_type,
            icmp_code=icmp_code,
            log=log,
        )
        response: Deferred[NetOutResponse] = self._send(request)
        return response

    def copy_in(
        self,
        handle: str,
        src_path: str,
        dst_path: str,
    ) -> Deferred[CopyInResponse]:
        """Send ``CopyInRequest``, return ``CopyInResponse``."""
        request = CopyInRequest(
            handle=handle,
            src_path=src_path,
            dst_path=dst_path,
        )
        response: Deferred[CopyInResponse] = self._send(request)
        return response

    def copy_out(
        self,
        handle: str,
        src_path: str,
        dst_path: str,
        *,
        owner: str | None = None,
    ) -> Deferred[CopyOutResponse]:
        """Send ``CopyOutRequest``, return ``CopyOutResponse``."""
        request = CopyOutRequest(
            handle=handle,
            src_path=src_path,
            dst_path=dst_path,
            owner=owner,
        )
        response: Deferred[CopyOutResponse] = self._send(request)
        return response

    def limit_memory(
        self,
        handle: str,
        *,
        limit_in_bytes: int | None = None,
    ) -> Deferred[LimitMemoryResponse]:
        """Send ``LimitMemoryRequest``, return ``LimitMemoryResponse``."""
        request = LimitMemoryRequest(
            handle=handle,
            limit_in_bytes=limit_in_bytes,
        )
        response: Deferred[LimitMemoryResponse] = self._send(request)
        return response

    def limit_disk(
        self,
        handle: str,
        *,
        block_limit: int | None = None,
        block: int | None = None,
        block_soft: int | None = None,
        block_hard: int | None = None,
        inode_limit: int | None = None,
        inode: int | None = None,
        inode_soft: int | None = None,
        inode_hard: int | None = None,
        byte_limit: int | None = None,
        byte: int | None = None,
        byte_soft: int | None = None,
        byte_hard: int | None = None,
    ) -> Deferred[LimitDiskResponse]:
        """Send ``LimitDiskRequest``, return ``LimitDiskResponse``."""
        request = LimitDiskRequest(
            handle=handle,
            block_limit=block_limit,
            block=block,
            block_soft=block_soft,
            block_hard=block_hard,
            inode_limit=inode_limit,
            inode=inode,
            inode_soft=inode_soft,
            inode_hard=inode_hard,
            byte_limit=byte_limit,
            byte=byte,
            byte_soft=byte_soft,
            byte_hard=byte_hard,
        )
        response: Deferred[LimitDiskResponse] = self._send(request)
        return response

    def limit_bandwidth(
        self,
        handle: str,
        rate: int,
        burst: int,
    ) -> Deferred[LimitBandwidthResponse]:
        """Send ``LimitBandwidthRequest``, return ``LimitBandwidthResponse``."""
        request = LimitBandwidthRequest(
            handle=handle,
            rate=rate,
            burst=burst,
        )
        response: Deferred[LimitBandwidthResponse] = self._send(request)
        return response

    def limit_cpu(
        self,
        handle: str,
        *,
        limit_in_shares: int | None = None,
    ) -> Deferred[LimitCpuResponse]:
        """Send ``LimitCpuRequest``, return ``LimitCpuResponse``."""
        request = LimitCpuRequest(
            handle=handle,
            limit_in_shares=limit_in_shares,
        )
        response: Deferred[LimitCpuResponse] = self._send(request)
        return response

    def ping(
        self,
    ) -> Deferred[PingResponse]:
        """Send ``PingRequest``, return ``PingResponse``."""
        request = PingRequest()
        response: Deferred[PingResponse] = self._send(request)
        return response

    def list(
        self,
        *,
        properties: Mapping[str, str] | Iterable[Property | Mapping[str, Any]] | None = None,
    ) -> Deferred[ListResponse]:
        """Send ``ListRequest``, return ``ListResponse``."""
        request = ListRequest(
            properties=property_list(properties),
        )
        response: Deferred[ListResponse] = self._send(request)
        return response

    def echo(
        self,
        message: str,
    ) -> Deferred[EchoResponse]:
        """Send ``EchoRequest``, return ``EchoResponse``."""
        request = EchoRequest(
            message=message,
        )
        response: Deferred[EchoResponse] = self._send(request)
        return response

    def set_property(
        self,
        handle: str,
        key: str,
        value: str,
    ) -> Deferred[SetPropertyResponse]:
        """Send ``SetPropertyRequest``, return ``SetPropertyResponse``."""
        request = SetPropertyRequest(
            handle=handle,
            key=key,
            value=value,
        )
        response: Deferred[SetPropertyResponse] = self._send(request)
        return response

    def get_property(
        self,
        handle: str,
        key: str,
    ) -> Deferred[str]:
        """Send ``GetPropertyRequest``, return ``property_value`` of ``GetPropertyResponse``."""
        request = GetPropertyRequest(
            handle=handle,
            key=key,
        )
        sent: Deferred[GetPropertyResponse] = self._send(request)
        return sent.addCallback(property_value)

    def remove_property(
        self,
        handle: str,
        key: str,
    ) -> Deferred[RemovePropertyResponse]:
        """Send ``RemovePropertyRequest``, return ``RemovePropertyResponse``."""
        request = RemovePropertyRequest(
            handle=handle,
            key=key,
        )
        response: Deferred[RemovePropertyResponse] = self._send(request)
        return response

    def bulk_info(
        self,
        handles: Iterable[str] | None = None,
    ) -> Deferred[dict[str, InfoResponse | ServerError]]:
        """Send ``BulkInfoRequest``, return ``bulk_info_result`` of ``BulkInfoResponse``."""
        request = BulkInfoRequest(
            handles=handles,
        )
        sent: Deferred[BulkInfoResponse] = self._send(request)
        return sent.addCallback(bulk_info_result)

    def signal(
        self,
        handle: str,
        job_id: int,
        signal: str,
    ) -> Deferred[SignalResponse]:
        """Send ``SignalRequest``, return ``SignalResponse``."""
        request = SignalRequest(
            handle=handle,
            job_id=job_id,
            signal=signal,
        )
        response: Deferred[SignalResponse] = self._send(request)
        return response

    def capacity(
        self,
    ) -> Deferred[CapacityResponse]:
        """Send ``CapacityRequest``, return ``CapacityResponse``."""
        request = CapacityRequest()
        response: Deferred[CapacityResponse] = self._send(request)
        return response

    def stdin(
        self,
        handle: str,
        job_id: int,
        data: bytes,
        *,
        eof: bool | None = None,
    ) -> Deferred[StdinResponse]:
        """Send ``StdinRequest``, return ``StdinResponse``."""
        request = StdinRequest(
            handle=handle,
            job_id=job_id,
            data=data,
            eof=eof,
        )
        response: Deferred[StdinResponse] = self._send(request)
        return response

    def resize(
        self,
        handle: str,
        job_id: int,
        rows: int,
        columns: int,
    ) -> Deferred[ResizeResponse]:
        """Send ``ResizeRequest``, return ``ResizeResponse``."""
        request = ResizeRequest(
            handle=handle,
            job_id=job_id,
            rows=rows,
            columns=columns,
        )
        response: Deferred[ResizeResponse] = self._send(request)
        return response

    @overload
    def call(self, request: CreateRequest) -> Deferred[CreateResponse]: ...
    @overload
    def call(self, request: StopRequest) -> Deferred[StopResponse]: ...
    @overload
    def call(self, request: DestroyRequest) -> Deferred[DestroyResponse]: ...
    @overload
    def call(self, request: InfoRequest) -> Deferred[InfoResponse]: ...
    @overload
    def call(self, request: SpawnRequest) -> Deferred[SpawnResponse]: ...
    @overload
    def call(self, request: LinkRequest) -> Deferred[LinkResponse]: ...
    @overload
    def call(self, request: RunRequest) -> Deferred[RunResponse]: ...
    @overload
    def call(self, request: NetInRequest) -> Deferred[NetInResponse]: ...
    @overload
    def call(self, request: NetOutRequest) -> Deferred[NetOutResponse]: ...
    @overload
    def call(self, request: CopyInRequest) -> Deferred[CopyInResponse]: ...
    @overload
    def call(self, request: CopyOutRequest) -> Deferred[CopyOutResponse]: ...
    @overload
    def call(self, request: LimitMemoryRequest) -> Deferred[LimitMemoryResponse]: ...
    @overload
    def call(self, request: LimitDiskRequest) -> Deferred[LimitDiskResponse]: ...
    @overload
    def call(self, request: LimitBandwidthRequest) -> Deferred[LimitBandwidthResponse]: ...
    @overload
    def call(self, request: LimitCpuRequest) -> Deferred[LimitCpuResponse]: ...
    @overload
    def call(self, request: PingRequest) -> Deferred[PingResponse]: ...
    @overload
    def call(self, request: ListRequest) -> Deferred[ListResponse]: ...
    @overload
    def call(self, request: EchoRequest) -> Deferred[EchoResponse]: ...
    @overload
    def call(self, request: SetPropertyRequest) -> Deferred[SetPropertyResponse]: ...
    @overload
    def call(self, request: GetPropertyRequest) -> Deferred[GetPropertyResponse]: ...
    @overload
    def call(self, request: RemovePropertyRequest) -> Deferred[RemovePropertyResponse]: ...
    @overload
    def call(self, request: BulkInfoRequest) -> Deferred[BulkInfoResponse]: ...
    @overload
    def call(self, request: SignalRequest) -> Deferred[SignalResponse]: ...
    @overload
    def call(self, request: CapacityRequest) -> Deferred[CapacityResponse]: ...
    @overload
    def call(self, request: StdinRequest) -> Deferred[StdinResponse]: ...
    @overload
    def call(self, request: ResizeRequest) -> Deferred[ResizeResponse]: ...
    @overload
    def call(self, request: builtins.list[Any] | tuple[Any, ...]) -> Deferred[Any]: ...
    @overload
    def call(self, request: Request) -> Deferred[Any]: ...
    def call(self, request: Any) -> Deferred[Any]:
        """Send any request; the Deferred fires with its response (v1: its v1 value).

        An ErrorResponse fails the Deferred with ServerError; a lost connection
        with ClientConnectionError. A list or tuple is a v1 command and switches
        this connection to v1 mode for good, as the original did: from then on
        ``call`` fires with v1 values for every request (the typed methods above
        keep firing with responses).
        """
        result: Deferred[Any] = self._call(request)
        return result
