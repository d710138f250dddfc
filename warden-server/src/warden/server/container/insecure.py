# -*- test-case-name: tests.test_requests -*-
"""The insecure backend: containers are directories, jobs are host processes.

Nothing is isolated: a job runs as the server's user, in
``<container_path>/root``, with an empty environment (LANG aside) and the
requested rlimits, and can see and touch the whole host. Use it for
development and tests, never for untrusted code. It needs no root.

Everything that touches the host is a script in ``root-scripts/insecure/``:
``create.sh``, ``stop.sh``, ``destroy.sh``, ``job.sh``, ``copy.sh`` and
``stream.sh`` (StreamIn/StreamOut: tar chrooted at the container's root). Limits
and net_out answer ``not implemented`` (the base's default); net_in hands out a
pool port without forwarding anything (the job can listen on it directly).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from warden.protocol import (
    CopyInRequest,
    CopyOutRequest,
    CreateRequest,
    NetInRequest,
    NetInResponse,
)

from .._config import Config
from .._jobs import Job
from .base import Container

__all__ = ["InsecureContainer"]


class InsecureContainer(Container):
    """A directory under the depot; see the module docstring."""

    backend_name = "insecure"

    def _script(self, name: str) -> str:
        return os.path.join(self.root_scripts, name)

    @classmethod
    async def setup_host(cls, config: Config) -> None:
        os.makedirs(config.server.container_depot_path, exist_ok=True)

    def is_alive(self) -> bool:
        return os.path.isdir(os.path.join(self.container_path, "root"))

    async def do_create(self, request: CreateRequest) -> None:
        await self.run_script([self._script("create.sh"), self.container_path])

    async def do_stop(self, kill: bool) -> None:
        wait = ["-w", "0"] if kill else []
        await self.run_script([self._script("stop.sh"), self.container_path, *wait])

    async def do_destroy(self) -> None:
        await self.run_script([self._script("destroy.sh"), self.container_path])

    def job_command(self, job: Job) -> tuple[Sequence[str], Mapping[str, str]]:
        return [self._script("job.sh"), self.container_path], {}

    async def do_net_in(self, request: NetInRequest) -> NetInResponse:
        # Nothing to forward: the requested ports are ignored, as the original did.
        port = self.acquire_port()
        return NetInResponse(host_port=port, container_port=port)

    def stream_command(
        self, direction: str, path: str
    ) -> tuple[Sequence[str], Mapping[str, object]]:
        return [self._script("stream.sh"), direction, self.container_path, path], {}

    async def do_copy_in(self, request: CopyInRequest) -> None:
        await self.run_script(
            [self._script("copy.sh"), "in", self.container_path, request.src_path, request.dst_path]
        )

    async def do_copy_out(self, request: CopyOutRequest) -> None:
        argv = [self._script("copy.sh"), "out", self.container_path]
        argv += [request.src_path, request.dst_path]
        if request.HasField("owner") and request.owner:
            argv.append(request.owner)
        await self.run_script(argv)
