# -*- test-case-name: tests.test_extensions -*-
"""What this host can hold (the Capacity extension).

Memory is the host's physical memory; disk the size of the file system that
holds the container depot; max containers the smallest of the pools a
container takes one entry of (network: a /30 each; uid: one each; ports are
taken only by net_in, so they do not bound the count).
"""

from __future__ import annotations

import os

from warden.protocol import CapacityResponse

from ._config import Config
from ._pools import NetworkPool, UidPool

__all__ = ["capacity"]


def capacity(config: Config, network_pool: NetworkPool, uid_pool: UidPool) -> CapacityResponse:
    """The Capacity response for this host and these pools."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    depot = os.statvfs(config.server.container_depot_path)
    return CapacityResponse(
        memory_in_bytes=memory,
        disk_in_bytes=depot.f_blocks * depot.f_frsize,
        max_containers=min(network_pool.size, uid_pool.size),
    )
