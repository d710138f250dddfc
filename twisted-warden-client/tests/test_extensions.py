"""Extension requests through WardenConnection: the Python shapes of their
answers, and a server that does not know them."""

from __future__ import annotations

from typing import Any

from support import ServerTestCase, reactor
from twisted.internet.defer import Deferred

from warden.protocol import (
    BulkInfoRequest,
    BulkInfoResponse,
    CreateRequest,
    GetPropertyRequest,
    GetPropertyResponse,
    InfoResponse,
    PingRequest,
    Property,
    Request,
)
from warden.twisted_client import (
    ClientConnectionError,
    ExtensionNotSupported,
    ServerError,
)
from warden.twisted_client.testing import ScriptedServer, ServerConnection, scripted_warden


async def failure_of(deferred: Deferred[Any]) -> BaseException:
    try:
        result = await deferred
    except Exception as error:
        return error
    raise AssertionError(f"expected a failure, got {result!r}")


def without_extensions(connection: ServerConnection, request: Request) -> Deferred[Any] | None:
    """An older warden of ours: an extension type is unknown, answered, then the
    connection is closed."""
    if isinstance(request, (GetPropertyRequest, BulkInfoRequest)):
        connection.error("Unknown request type: 101")
        connection.close()
        return None
    return scripted_warden(connection, request)


def with_extensions(connection: ServerConnection, request: Request) -> Deferred[Any] | None:
    if isinstance(request, GetPropertyRequest):
        connection.respond(GetPropertyResponse(value=f"value of {request.key}"))
        return None
    if isinstance(request, BulkInfoRequest):
        response = BulkInfoResponse()
        response.entries.add(handle="a", info=InfoResponse(state="active"))
        response.entries.add(handle="b", error="unknown handle")
        connection.respond(response)
        return None
    return scripted_warden(connection, request)


class ShapesTests(ServerTestCase):
    def start_server(self) -> ScriptedServer:
        server = ScriptedServer(with_extensions)
        server.listen(reactor, self.path)
        self.addCleanup(server.stop)
        return server

    async def test_get_property_fires_with_the_value(self) -> None:
        connection = await self.connect()
        self.assertEqual(await connection.get_property("h", "k"), "value of k")

    async def test_bulk_info_fires_with_a_dict(self) -> None:
        connection = await self.connect()
        infos = await connection.bulk_info(["a", "b"])
        self.assertEqual(list(infos), ["a", "b"])
        self.assertEqual(infos["a"], InfoResponse(state="active"))
        self.assertIsInstance(infos["b"], ServerError)
        self.assertEqual(str(infos["b"]), "unknown handle")
        self.assertEqual(list(self.server.received[-1].handles), ["a", "b"])

    async def test_create_sends_properties_from_a_dict(self) -> None:
        connection = await self.connect()
        await connection.create(properties={"team": "blue"})
        sent = self.server.received[-1]
        assert isinstance(sent, CreateRequest)
        self.assertEqual(list(sent.properties), [Property(key="team", value="blue")])


class WithoutExtensionsTests(ServerTestCase):
    def start_server(self) -> ScriptedServer:
        server = ScriptedServer(without_extensions)
        server.listen(reactor, self.path)
        self.addCleanup(server.stop)
        return server

    async def test_an_unknown_extension_is_a_clear_error(self) -> None:
        connection = await self.connect()
        pending = connection.get_property("h", "k")
        behind = connection.call(PingRequest())  # pipelined after it
        error = await failure_of(pending)
        self.assertIsInstance(error, ExtensionNotSupported)
        self.assertEqual(str(error), "the server does not support get_property")
        # The server closed the connection after its answer.
        self.assertIsInstance(await failure_of(behind), ClientConnectionError)

    async def test_original_requests_are_unaffected(self) -> None:
        connection = await self.connect()
        self.assertEqual((await connection.create(handle="x")).handle, "x")
