# -*- test-case-name: tests_net.test_linux_net -*-
"""A Linux container's networking: NetIn, NetOut, LimitBandwidth, bandwidth
stats, restore after a restart, and teardown at destroy.

``ContainerNetwork`` is a collaborator the Linux container holds and
delegates to; it runs the container's ``net.sh`` and ``net_rate.sh`` (copied
from ``root-scripts/linux/skeleton``) through the container's script funnel
and records what it did in the container's ``resources`` (saved in the
snapshot) so that ``restore`` can replay it:

    resources["net_in"]   [[host_port, container_port], ...]
    resources["net_out"]  [[network, ports, protocol, icmp_type, icmp_code, log], ...]
    resources["ports"]    pool ports owned by the container (kept by the base)
    resources["bandwidth"] [in_rate, in_burst, out_rate, out_burst] as the kernel
                          reported them after the last change (absent: unknown)

Info's bandwidth_stat reads that record: the limits are kernel state that only
LimitBandwidth changes (and destroy removes), so the kernel is asked (two ``tc``
through ``net.sh``) when they change, at restore, and when the record is
missing, not on every Info, which Link and Run also answer with.

The host side of the firewall (``root-scripts/linux/net.sh``) is set up once
at server start; ``host_firewall_env`` builds its environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from twisted.internet import defer

from warden.protocol import (
    InfoResponse,
    LimitBandwidthRequest,
    LimitBandwidthResponse,
    NetInRequest,
    NetInResponse,
    NetOutRequest,
)

from .._errors import WardenError
from ._net_rules import UNLIMITED, NetOutRule, tbf_limits, valid_port

__all__ = ["ContainerNetwork", "NetworkedContainer", "ScriptOutput"]

#: The bandwidth record of a container without limits.
_NO_LIMITS = [UNLIMITED, UNLIMITED, UNLIMITED, UNLIMITED]


class ScriptOutput(Protocol):
    """What a finished script gives back (``_scripts.ScriptResult``)."""

    @property
    def stdout(self) -> bytes: ...


class NetworkedContainer(Protocol):
    """What ``ContainerNetwork`` needs from its container (``base.Container`` has it)."""

    @property
    def container_id(self) -> str: ...

    @property
    def container_path(self) -> str: ...

    @property
    def host_ip(self) -> str: ...

    @property
    def container_ip(self) -> str: ...

    @property
    def resources(self) -> dict[str, Any]: ...

    def run_script(
        self, argv: Sequence[str], *, env: Mapping[str, object] | None = None
    ) -> defer.Deferred[Any]:
        """Run a command through the server's funnel; fails with ScriptError."""

    def acquire_port(self) -> int:
        """A port from the pool, owned by the container until destroy."""

    def release_port(self, port: int) -> None:
        """Give a pool port back at once, and forget that the container owned it."""


class ContainerNetwork:
    """The networking of one Linux container (see the module docstring)."""

    def __init__(self, container: NetworkedContainer) -> None:
        self._container = container

    # -- scripts --

    def _env(self) -> dict[str, str]:
        """What net.sh needs to know; etc/config, when present, says the same."""
        container = self._container
        return {
            "id": container.container_id,
            "network_host_ip": container.host_ip,
            "network_container_ip": container.container_ip,
        }

    def _script(self, name: str) -> str:
        return os.path.join(self._container.container_path, name)

    async def _net_sh(self, command: str, **env: str) -> ScriptOutput:
        result: ScriptOutput = await self._container.run_script(
            [self._script("net.sh"), command], env={**self._env(), **env}
        )
        return result

    def _records(self, key: str) -> list[Any]:
        records: list[Any] = self._container.resources.setdefault(key, [])
        return records

    # -- lifecycle --

    def created(self) -> None:
        """A new container (start.sh set its chains up): no bandwidth limit yet."""
        self._container.resources["bandwidth"] = list(_NO_LIMITS)

    async def setup(self) -> None:
        """Create the container's chains (create; also the first step of restore).

        Drops any NetIn/NetOut rule the chains held.
        """
        await self._net_sh("setup")

    async def teardown(self) -> None:
        """Remove every rule, chain, qdisc and the ifb of the container (destroy).

        Works for a half-made container and when run twice.
        """
        await self._net_sh("teardown")

    async def restore(self) -> None:
        """Re-create the chains (host setup dropped them at server start) and
        replay every recorded NetIn and NetOut. Bandwidth limits are
        kernel state that outlives the server: nothing to replay, they are read
        again."""
        self._container.resources.pop("bandwidth", None)
        await self.setup()
        for host_port, container_port in list(self._records("net_in")):
            await self._net_in(int(host_port), int(container_port))
        for record in list(self._records("net_out")):
            await self._net_out(NetOutRule.from_record(record))

    # -- requests --

    async def net_in(self, request: NetInRequest) -> NetInResponse:
        """Forward a host port (the requested one, or one from the pool) to a
        container port (by default the same number) for TCP."""
        for field in ("host_port", "container_port"):
            if request.HasField(field) and not valid_port(getattr(request, field)):
                raise WardenError(
                    f"Invalid {field}: {getattr(request, field)} (expected 1 ... 65535)"
                )
        pooled = not request.HasField("host_port")
        host_port = self._container.acquire_port() if pooled else request.host_port
        container_port = request.container_port if request.HasField("container_port") else host_port
        try:
            await self._net_in(host_port, container_port)
        except BaseException:
            if pooled:
                self._container.release_port(host_port)
            raise
        self._records("net_in").append([host_port, container_port])
        return NetInResponse(host_port=host_port, container_port=container_port)

    async def _net_in(self, host_port: int, container_port: int) -> None:
        await self._net_sh("in", HOST_PORT=str(host_port), CONTAINER_PORT=str(container_port))

    async def net_out(self, request: NetOutRequest) -> None:
        """Allow the container to reach what the request names."""
        rule = NetOutRule.from_request(request)
        await self._net_out(rule)
        self._records("net_out").append(rule.to_record())

    async def _net_out(self, rule: NetOutRule) -> None:
        await self._net_sh("out", **rule.script_env())

    async def limit_bandwidth(self, request: LimitBandwidthRequest) -> LimitBandwidthResponse:
        """Shape both directions to ``rate`` bytes/s with ``burst`` bytes."""
        if request.rate <= 0:
            raise WardenError("rate must be greater than 0 (bytes per second)")
        if request.burst <= 0:
            raise WardenError("burst must be greater than 0 (bytes)")
        self._container.resources.pop("bandwidth", None)
        await self._container.run_script(
            [self._script("net_rate.sh")],
            env={**self._env(), "RATE": str(request.rate * 8), "BURST": str(request.burst)},
        )
        await self.bandwidth_stat()  # recorded as the kernel now has them
        return LimitBandwidthResponse(rate=request.rate, burst=request.burst)

    async def bandwidth_stat(self) -> InfoResponse.BandwidthStat:
        """The limits in force: ``in_*`` towards the container (the host
        veth), ``out_*`` from it (the ifb); 0xffffffff where there is none.
        From the record; the kernel is asked when there is none."""
        record = self._container.resources.get("bandwidth")
        if not (isinstance(record, list) and len(record) == len(_NO_LIMITS)):
            record = list(await self._read_bandwidth())
            self._container.resources["bandwidth"] = record
        in_rate, in_burst, out_rate, out_burst = (int(x) for x in record)
        return InfoResponse.BandwidthStat(
            in_rate=in_rate, in_burst=in_burst, out_rate=out_rate, out_burst=out_burst
        )

    async def _read_bandwidth(self) -> tuple[int, int, int, int]:
        """The limits as the kernel has them (``tc`` through ``net.sh``)."""
        both = defer.gatherResults(
            [
                defer.ensureDeferred(self._net_sh("get_egress_info")),
                defer.ensureDeferred(self._net_sh("get_ingress_info")),
            ],
            consumeErrors=True,
        )
        try:
            egress, ingress = await both
        except defer.FirstError as error:
            error.subFailure.raiseException()
        return (*tbf_limits(egress.stdout), *tbf_limits(ingress.stdout))
