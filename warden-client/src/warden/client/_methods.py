# Generated from warden.protocol's type map by `make proto`: do not edit.
"""Typed convenience methods (warden.client._methods), one per request type."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any, overload

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

__all__ = ["RequestMethods"]


class RequestMethods:
    """One blocking method per request type; each returns the response.

    Required fields are positional, in declaration order; optional ones are
    keyword-only and left unset when None. The requests answered by many
    frames have none here: ``stream()``, ``stream_in()`` and ``stream_out()``
    serve them.
    """

    def _send(self, request: Any, timeout: float | None) -> Any:
        """Send one v2 request; its response, never a v1 value."""
        raise NotImplementedError

    def _call(self, request: Any, timeout: float | None) -> Any:
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
        timeout: float | None = None,
    ) -> CreateResponse:
        """Send ``CreateRequest``, return ``CreateResponse``."""
        request = CreateRequest(
            bind_mounts=bind_mounts,
            grace_time=grace_time,
            handle=handle,
            network=network,
            rootfs=rootfs,
            properties=property_list(properties),
        )
        response: CreateResponse = self._send(request, timeout)
        return response

    def stop(
        self,
        handle: str,
        *,
        background: bool | None = None,
        kill: bool | None = None,
        timeout: float | None = None,
    ) -> StopResponse:
        """Send ``StopRequest``, return ``StopResponse``."""
        request = StopRequest(
            handle=handle,
            background=background,
            kill=kill,
        )
        response: StopResponse = self._send(request, timeout)
        return response

    def destroy(
        self,
        handle: str,
        *,
        timeout: float | None = None,
    ) -> DestroyResponse:
        """Send ``DestroyRequest``, return ``DestroyResponse``."""
        request = DestroyRequest(
            handle=handle,
        )
        response: DestroyResponse = self._send(request, timeout)
        return response

    def info(
        self,
        handle: str,
        *,
        timeout: float | None = None,
    ) -> InfoResponse:
        """Send ``InfoRequest``, return ``InfoResponse``."""
        request = InfoRequest(
            handle=handle,
        )
        response: InfoResponse = self._send(request, timeout)
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
        timeout: float | None = None,
    ) -> SpawnResponse:
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
        response: SpawnResponse = self._send(request, timeout)
        return response

    def link(
        self,
        handle: str,
        job_id: int,
        *,
        timeout: float | None = None,
    ) -> LinkResponse:
        """Send ``LinkRequest``, return ``LinkResponse``."""
        request = LinkRequest(
            handle=handle,
            job_id=job_id,
        )
        response: LinkResponse = self._send(request, timeout)
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
        timeout: float | None = None,
    ) -> RunResponse:
        """Send ``RunRequest``, return ``RunResponse``."""
        request = RunRequest(
            handle=handle,
            script=script,
            privileged=privileged,
            rlimits=rlimits,
            discard_output=discard_output,
            log_tag=log_tag,
        )
        response: RunResponse = self._send(request, timeout)
        return response

    def net_in(
        self,
        handle: str,
        *,
        host_port: int | None = None,
        container_port: int | None = None,
        timeout: float | None = None,
    ) -> NetInResponse:
        """Send ``NetInRequest``, return ``NetInResponse``."""
        request = NetInRequest(
            handle=handle,
            host_port=host_port,
            container_port=container_port,
        )
        response: NetInResponse = self._send(request, timeout)
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
        timeout: float | None = None,
    ) -> NetOutResponse:
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
        response: NetOutResponse = self._send(request, timeout)
        return response

    def copy_in(
        self,
        handle: str,
        src_path: str,
        dst_path: str,
        *,
        timeout: float | None = None,
    ) -> CopyInResponse:
        """Send ``CopyInRequest``, return ``CopyInResponse``."""
        request = CopyInRequest(
            handle=handle,
            src_path=src_path,
            dst_path=dst_path,
        )
        response: CopyInResponse = self._send(request, timeout)
        return response

    def copy_out(
        self,
        handle: str,
        src_path: str,
        dst_path: str,
        *,
        owner: str | None = None,
        timeout: float | None = None,
    ) -> CopyOutResponse:
        """Send ``CopyOutRequest``, return ``CopyOutResponse``."""
        request = CopyOutRequest(
            handle=handle,
            src_path=src_path,
            dst_path=dst_path,
            owner=owner,
        )
        response: CopyOutResponse = self._send(request, timeout)
        return response

    def limit_memory(
        self,
        handle: str,
        *,
        limit_in_bytes: int | None = None,
        timeout: float | None = None,
    ) -> LimitMemoryResponse:
        """Send ``LimitMemoryRequest``, return ``LimitMemoryResponse``."""
        request = LimitMemoryRequest(
            handle=handle,
            limit_in_bytes=limit_in_bytes,
        )
        response: LimitMemoryResponse = self._send(request, timeout)
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
        timeout: float | None = None,
    ) -> LimitDiskResponse:
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
        response: LimitDiskResponse = self._send(request, timeout)
        return response

    def limit_bandwidth(
        self,
        handle: str,
        rate: int,
        burst: int,
        *,
        timeout: float | None = None,
    ) -> LimitBandwidthResponse:
        """Send ``LimitBandwidthRequest``, return ``LimitBandwidthResponse``."""
        request = LimitBandwidthRequest(
            handle=handle,
            rate=rate,
            burst=burst,
        )
        response: LimitBandwidthResponse = self._send(request, timeout)
        return response

    def limit_cpu(
        self,
        handle: str,
        *,
        limit_in_shares: int | None = None,
        timeout: float | None = None,
    ) -> LimitCpuResponse:
        """Send ``LimitCpuRequest``, return ``LimitCpuResponse``."""
        request = LimitCpuRequest(
            handle=handle,
            limit_in_shares=limit_in_shares,
        )
        response: LimitCpuResponse = self._send(request, timeout)
        return response

    def ping(
        self,
        *,
        timeout: float | None = None,
    ) -> PingResponse:
        """Send ``PingRequest``, return ``PingResponse``."""
        request = PingRequest()
        response: PingResponse = self._send(request, timeout)
        return response

    def list(
        self,
        *,
        properties: Mapping[str, str] | Iterable[Property | Mapping[str, Any]] | None = None,
        timeout: float | None = None,
    ) -> ListResponse:
        """Send ``ListRequest``, return ``ListResponse``."""
        request = ListRequest(
            properties=property_list(properties),
        )
        response: ListResponse = self._send(request, timeout)
        return response

    def echo(
        self,
        message: str,
        *,
        timeout: float | None = None,
    ) -> EchoResponse:
        """Send ``EchoRequest``, return ``EchoResponse``."""
        request = EchoRequest(
            message=message,
        )
        response: EchoResponse = self._send(request, timeout)
        return response

    def set_property(
        self,
        handle: str,
        key: str,
        value: str,
        *,
        timeout: float | None = None,
    ) -> SetPropertyResponse:
        """Send ``SetPropertyRequest``, return ``SetPropertyResponse``."""
        request = SetPropertyRequest(
            handle=handle,
            key=key,
            value=value,
        )
        response: SetPropertyResponse = self._send(request, timeout)
        return response

    def get_property(
        self,
        handle: str,
        key: str,
        *,
        timeout: float | None = None,
    ) -> str:
        """Send ``GetPropertyRequest``, return ``property_value`` of ``GetPropertyResponse``."""
        request = GetPropertyRequest(
            handle=handle,
            key=key,
        )
        response: GetPropertyResponse = self._send(request, timeout)
        return property_value(response)

    def remove_property(
        self,
        handle: str,
        key: str,
        *,
        timeout: float | None = None,
    ) -> RemovePropertyResponse:
        """Send ``RemovePropertyRequest``, return ``RemovePropertyResponse``."""
        request = RemovePropertyRequest(
            handle=handle,
            key=key,
        )
        response: RemovePropertyResponse = self._send(request, timeout)
        return response

    def bulk_info(
        self,
        handles: Iterable[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, InfoResponse | ServerError]:
        """Send ``BulkInfoRequest``, return ``bulk_info_result`` of ``BulkInfoResponse``."""
        request = BulkInfoRequest(
            handles=handles,
        )
        response: BulkInfoResponse = self._send(request, timeout)
        return bulk_info_result(response)

    def signal(
        self,
        handle: str,
        job_id: int,
        signal: str,
        *,
        timeout: float | None = None,
    ) -> SignalResponse:
        """Send ``SignalRequest``, return ``SignalResponse``."""
        request = SignalRequest(
            handle=handle,
            job_id=job_id,
            signal=signal,
        )
        response: SignalResponse = self._send(request, timeout)
        return response

    def capacity(
        self,
        *,
        timeout: float | None = None,
    ) -> CapacityResponse:
        """Send ``CapacityRequest``, return ``CapacityResponse``."""
        request = CapacityRequest()
        response: CapacityResponse = self._send(request, timeout)
        return response

    def stdin(
        self,
        handle: str,
        job_id: int,
        data: bytes,
        *,
        eof: bool | None = None,
        timeout: float | None = None,
    ) -> StdinResponse:
        """Send ``StdinRequest``, return ``StdinResponse``."""
        request = StdinRequest(
            handle=handle,
            job_id=job_id,
            data=data,
            eof=eof,
        )
        response: StdinResponse = self._send(request, timeout)
        return response

    def resize(
        self,
        handle: str,
        job_id: int,
        rows: int,
        columns: int,
        *,
        timeout: float | None = None,
    ) -> ResizeResponse:
        """Send ``ResizeRequest``, return ``ResizeResponse``."""
        request = ResizeRequest(
            handle=handle,
            job_id=job_id,
            rows=rows,
            columns=columns,
        )
        response: ResizeResponse = self._send(request, timeout)
        return response

    @overload
    def call(self, request: CreateRequest, timeout: float | None = None) -> CreateResponse: ...
    @overload
    def call(self, request: StopRequest, timeout: float | None = None) -> StopResponse: ...
    @overload
    def call(self, request: DestroyRequest, timeout: float | None = None) -> DestroyResponse: ...
    @overload
    def call(self, request: InfoRequest, timeout: float | None = None) -> InfoResponse: ...
    @overload
    def call(self, request: SpawnRequest, timeout: float | None = None) -> SpawnResponse: ...
    @overload
    def call(self, request: LinkRequest, timeout: float | None = None) -> LinkResponse: ...
    @overload
    def call(self, request: RunRequest, timeout: float | None = None) -> RunResponse: ...
    @overload
    def call(self, request: NetInRequest, timeout: float | None = None) -> NetInResponse: ...
    @overload
    def call(self, request: NetOutRequest, timeout: float | None = None) -> NetOutResponse: ...
    @overload
    def call(self, request: CopyInRequest, timeout: float | None = None) -> CopyInResponse: ...
    @overload
    def call(self, request: CopyOutRequest, timeout: float | None = None) -> CopyOutResponse: ...
    @overload
    def call(
        self, request: LimitMemoryRequest, timeout: float | None = None
    ) -> LimitMemoryResponse: ...
    @overload
    def call(
        self, request: LimitDiskRequest, timeout: float | None = None
    ) -> LimitDiskResponse: ...
    @overload
    def call(
        self, request: LimitBandwidthRequest, timeout: float | None = None
    ) -> LimitBandwidthResponse: ...
    @overload
    def call(self, request: LimitCpuRequest, timeout: float | None = None) -> LimitCpuResponse: ...
    @overload
    def call(self, request: PingRequest, timeout: float | None = None) -> PingResponse: ...
    @overload
    def call(self, request: ListRequest, timeout: float | None = None) -> ListResponse: ...
    @overload
    def call(self, request: EchoRequest, timeout: float | None = None) -> EchoResponse: ...
    @overload
    def call(
        self, request: SetPropertyRequest, timeout: float | None = None
    ) -> SetPropertyResponse: ...
    @overload
    def call(
        self, request: GetPropertyRequest, timeout: float | None = None
    ) -> GetPropertyResponse: ...
    @overload
    def call(
        self, request: RemovePropertyRequest, timeout: float | None = None
    ) -> RemovePropertyResponse: ...
    @overload
    def call(self, request: BulkInfoRequest, timeout: float | None = None) -> BulkInfoResponse: ...
    @overload
    def call(self, request: SignalRequest, timeout: float | None = None) -> SignalResponse: ...
    @overload
    def call(self, request: CapacityRequest, timeout: float | None = None) -> CapacityResponse: ...
    @overload
    def call(self, request: StdinRequest, timeout: float | None = None) -> StdinResponse: ...
    @overload
    def call(self, request: ResizeRequest, timeout: float | None = None) -> ResizeResponse: ...
    @overload
    def call(
        self, request: builtins.list[Any] | tuple[Any, ...], timeout: float | None = None
    ) -> Any: ...
    @overload
    def call(self, request: Request, timeout: float | None = None) -> Any: ...
    def call(self, request: Any, timeout: float | None = None) -> Any:
        """Send any request and return its response (a v1 command list: its v1 value).

        An ErrorResponse raises ServerError. A list or tuple is a v1 command and
        switches this client to v1 mode for good, as the original did: from then
        on ``call`` returns v1 values for every request (the typed methods above
        keep returning responses). ``timeout`` is in seconds; None waits forever.
        """
        result: Any = self._call(request, timeout)
        return result
