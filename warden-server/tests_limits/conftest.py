"""Fixtures for the limits tests: they need root and make real cgroups, loop devices and mounts."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from limits_support import CgroupSandbox
from server_support import TIMEOUT, LimitsServer, destroy_quietly, limits_server

from warden.client import Client, ServerError


def pytest_configure(config: pytest.Config) -> None:
    if os.geteuid() != 0:
        raise pytest.UsageError("the limits tests need root (real cgroups, loop devices, mounts)")


@pytest.fixture
def unique() -> str:
    """A name no other test run on this machine uses."""
    return f"warden-limits-test-{secrets.token_hex(4)}"


@pytest.fixture
def cgroups(unique: str) -> Iterator[CgroupSandbox]:
    sandbox = CgroupSandbox(unique)
    try:
        yield sandbox
    finally:
        sandbox.remove()


@pytest.fixture
def reactor() -> Iterator[object]:
    """A fresh reactor of the server's kind, driven by ``iterate`` (never installed)."""
    from twisted.internet.epollreactor import EPollReactor

    instance = EPollReactor()
    try:
        yield instance
    finally:
        instance.disconnectAll()
        instance.waker.connectionLost(None)
        instance._poller.close()


@pytest.fixture(scope="session")
def server() -> Iterator[LimitsServer]:
    """The end-to-end tests' server (tests that restart it leave it running)."""
    with limits_server() as made:
        yield made


@pytest.fixture
def client(server: LimitsServer) -> Iterator[Client]:
    with server.client() as made:
        yield made


@pytest.fixture
def make_container(server: LimitsServer) -> Iterator[Any]:
    """Create containers (keyword arguments of Create); all destroyed afterwards."""
    handles: list[str] = []

    def make(**fields: Any) -> str:
        with server.client() as client:
            try:
                handle = client.create(timeout=TIMEOUT, **fields).handle
            except ServerError as error:
                raise AssertionError(f"create failed: {error}\n{server.log()}") from error
        handles.append(handle)
        return handle

    yield make
    with server.client() as client:
        for handle in handles:
            destroy_quietly(client, handle)
