"""The public surface, and a handler for every request type."""

from __future__ import annotations

import warden.server as ws
import warden.server.container as wc
from warden.protocol import (
    REQUEST_TYPES,
    BulkInfoRequest,
    CapacityRequest,
    EchoRequest,
    ListRequest,
    PingRequest,
    StreamInRequest,
)
from warden.server.container import REQUEST_TABLE, Container, backend_class
from warden.server.container.insecure import InsecureContainer


def public_names(module: object) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("warden.")
    }


def test_all_lists_exactly_the_public_names() -> None:
    for module in (ws, wc):
        assert [n for n in module.__all__ if not hasattr(module, n)] == []
        assert public_names(module) - set(module.__all__) == set()


def test_every_request_type_is_served() -> None:
    # StreamIn: the connection holds its open stream; the container starts its tar.
    by_server = {
        PingRequest, ListRequest, EchoRequest, BulkInfoRequest, CapacityRequest, StreamInRequest,
    }  # fmt: skip
    assert set(REQUEST_TYPES.values()) == set(REQUEST_TABLE) | by_server
    assert not set(REQUEST_TABLE) & by_server


def test_backends_by_name() -> None:
    assert backend_class("insecure") is InsecureContainer
    assert issubclass(InsecureContainer, Container)
