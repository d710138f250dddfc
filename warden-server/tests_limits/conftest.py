"""Fixtures for the limits tests: they need root and make real cgroups, loop devices and mounts."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from limits_support import CgroupSandbox
from server_support import LimitsServer, limits_server

from warden.server import testing_fixtures


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


# The Linux suites' shared fixtures, on this suite's ``server``.
client = testing_fixtures.client
make_container = testing_fixtures.make_container
