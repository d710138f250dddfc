"""WardenConnection against a scripted Twisted server on a real unix socket."""

from __future__ import annotations

import os
from typing import Any

from support import ServerTestCase, reactor
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.endpoints import UNIXClientEndpoint
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from warden.protocol import (
    CreateRequest,
    EchoRequest,
    EchoResponse,
    ErrorResponse,
    LimitCpuRequest,
    LinkRequest,
    ListResponse,
    PingRequest,
    PingResponse,
    ProtocolError,
    RunRequest,
    StreamRequest,
    StreamResponse,
    response_to_wire,
)
from warden.twisted_client import (
    ClientConnectionError,
    ClientError,
    ServerError,
    V1Error,
    WardenConnection,
    connect,
)
from warden.twisted_client.testing import output_pattern


async def failure_of(deferred: Deferred[Any]) -> BaseException:
    """The exception a Deferred fails with (AssertionError if it succeeds)."""
    try:
        result = await deferred
    except Exception as error:
        return error
    raise AssertionError(f"expected a failure, got {result!r}")


class ConnectTests(ServerTestCase):
    async def test_connect_by_path(self) -> None:
        connection = await self.connect()
        self.assertTrue(connection.connected)
        self.assertEqual(await connection.ping(), PingResponse())

    async def test_connect_by_endpoint_description(self) -> None:
        connection = await connect(reactor, f"unix:{self.path}")
        self.addCleanup(connection.disconnect)
        self.assertEqual(await connection.ping(), PingResponse())

    async def test_connect_by_endpoint(self) -> None:
        connection = await connect(reactor, UNIXClientEndpoint(reactor, self.path))
        self.addCleanup(connection.disconnect)
        self.assertEqual(await connection.ping(), PingResponse())

    async def test_connect_to_missing_socket(self) -> None:
        error = await failure_of(connect(reactor, os.path.join(self.directory, "absent.sock")))
        self.assertIsInstance(error, ClientConnectionError)
        self.assertIn("cannot connect to", str(error))

    def test_connect_refuses_what_is_no_address(self) -> None:
        with self.assertRaises(TypeError):
            connect(reactor, 42)

    async def test_disconnect(self) -> None:
        connection = await self.connect()
        lost: list[Failure] = []
        connection.on_disconnected(lost.append)
        await connection.disconnect()
        self.assertFalse(connection.connected)
        self.assertEqual(len(lost), 1)
        error = await failure_of(connection.ping())
        self.assertIsInstance(error, ClientConnectionError)
        self.assertEqual(str(error), "not connected")
        await connection.disconnect()  # again: nothing to do

    async def test_connected_observer_called_at_once_when_connected(self) -> None:
        connection = await self.connect()
        seen: list[WardenConnection] = []
        connection.on_connected(seen.append)
        self.assertEqual(seen, [connection])


class CallTests(ServerTestCase):
    async def test_call_and_typed_methods(self) -> None:
        connection = await self.connect()
        self.assertEqual(
            await connection.call(EchoRequest(message="hi")), EchoResponse(message="hi")
        )
        self.assertEqual((await connection.create(grace_time=30)).handle, "h-new")
        run = await connection.run("h1", "echo hi", privileged=True)
        self.assertEqual(run.stdout, b"echo hi")
        self.assertEqual(
            self.server.received,
            [
                EchoRequest(message="hi"),
                CreateRequest(grace_time=30),
                RunRequest(handle="h1", script="echo hi", privileged=True),
            ],
        )

    async def test_pipelined_requests_resolve_in_order(self) -> None:
        connection = await self.connect()
        messages = ["slow 0.05 first", *(f"m{i}" for i in range(50)), "bytewise last"]
        deferreds = [connection.echo(message) for message in messages]
        # Every request is on the wire before any answer came back.
        self.assertEqual(connection.pending, len(messages))
        order: list[int] = []
        for index, deferred in enumerate(deferreds):
            deferred.addCallback(lambda response, i=index: order.append(i) or response)
        responses = await gatherResults(deferreds)
        self.assertEqual(order, list(range(len(messages))))
        self.assertEqual(
            [r.message for r in responses], ["first", *(f"m{i}" for i in range(50)), "last"]
        )
        self.assertEqual([r.message for r in self.server.received], messages)
        self.assertEqual(connection.pending, 0)

    async def test_server_error_fails_only_its_request(self) -> None:
        connection = await self.connect()
        first, failing, last = (connection.echo(m) for m in ("a", "error boom", "b"))
        self.assertEqual((await first).message, "a")
        error = await failure_of(failing)
        assert isinstance(error, ServerError)
        self.assertEqual(error.message, "echo failed: boom")
        self.assertEqual(error.data, "some data")
        self.assertEqual(error.backtrace, ["frame 1", "frame 2"])
        self.assertEqual((await last).message, "b")
        self.assertTrue(connection.connected)

    async def test_a_request_that_cannot_be_encoded_is_not_sent(self) -> None:
        connection = await self.connect()
        error = await failure_of(connection.call(EchoRequest()))
        self.assertIsInstance(error, ProtocolError)
        self.assertEqual(await connection.ping(), PingResponse())
        self.assertEqual(self.server.received, [PingRequest()])

    async def test_call_refuses_what_is_not_a_request(self) -> None:
        connection = await self.connect()
        error = await failure_of(connection.call(EchoResponse(message="x")))  # type: ignore[call-overload]
        self.assertIsInstance(error, TypeError)
        error = await failure_of(connection.call(StreamRequest(handle="h", job_id=1)))
        self.assertIn("use stream()", str(error))

    async def test_a_response_arriving_one_byte_at_a_time(self) -> None:
        connection = await self.connect()
        self.assertEqual((await connection.echo("bytewise partial")).message, "partial")

    async def test_ten_mebibyte_response(self) -> None:
        connection = await self.connect()
        size = 10 * 1024 * 1024
        pinged = connection.ping()
        response = await connection.call(LinkRequest(handle="h1", job_id=size))
        self.assertEqual(len(response.stdout), size)
        self.assertEqual(response.stdout, output_pattern(size))
        self.assertEqual(await pinged, PingResponse())
        self.assertEqual(await connection.ping(), PingResponse())


class ConnectionLossTests(ServerTestCase):
    async def test_disconnect_in_the_middle_of_requests_fails_every_pending_one(self) -> None:
        connection = await self.connect()
        lost: list[Failure] = []
        connection.on_disconnected(lost.append)
        first, closing, after = (connection.echo(m) for m in ("a", "close", "b"))
        self.assertEqual((await first).message, "a")
        for deferred in (closing, after):
            error = await failure_of(deferred)
            self.assertIsInstance(error, ClientConnectionError)
            self.assertIsInstance(error, ClientError)
        self.assertFalse(connection.connected)
        self.assertEqual(len(lost), 1)

    async def test_disconnect_in_the_middle_of_a_frame(self) -> None:
        connection = await self.connect()
        error = await failure_of(connection.echo("close-mid-frame"))
        self.assertIsInstance(error, ClientConnectionError)
        self.assertIn("in the middle of a frame", str(error))

    async def test_a_bad_frame_drops_the_connection(self) -> None:
        connection = await self.connect()
        garbage, after = connection.echo("garbage"), connection.ping()
        for deferred in (garbage, after):
            error = await failure_of(deferred)
            self.assertIsInstance(error, ClientConnectionError)
            self.assertIn("bad response from the server", str(error))
        self.assertFalse(connection.connected)

    async def test_a_response_of_the_wrong_type_drops_the_connection(self) -> None:
        connection = await self.connect()
        error = await failure_of(connection.echo("wrong-type"))
        self.assertIn("expected EchoResponse from the server, got PingResponse", str(error))
        self.assertFalse(connection.connected)

    async def test_local_disconnect_fails_pending_requests(self) -> None:
        connection = await self.connect()
        slow = connection.echo("slow 5 never")
        await connection.disconnect()
        self.assertIsInstance(await failure_of(slow), ClientConnectionError)


class StreamTests(ServerTestCase):
    async def test_stream_delivers_chunks_then_the_exit_status(self) -> None:
        connection = await self.connect()
        chunks: list[StreamResponse] = []
        streamed = connection.stream(StreamRequest(handle="h1", job_id=5), chunks.append)
        pinged = connection.ping()  # pipelined behind the whole stream
        final = await streamed
        self.assertEqual([c.data for c in chunks], [b"chunk %d\n" % i for i in range(5)])
        self.assertEqual(final.exit_status, 5)
        self.assertEqual(final.info.state, "active")
        self.assertEqual(await pinged, PingResponse())

    async def test_disconnect_in_the_middle_of_a_stream(self) -> None:
        connection = await self.connect()
        chunks: list[StreamResponse] = []
        error = await failure_of(
            connection.stream(StreamRequest(handle="cut", job_id=3), chunks.append)
        )
        self.assertIsInstance(error, ClientConnectionError)
        self.assertEqual(len(chunks), 3)

    async def test_disconnect_in_the_middle_of_a_stream_frame(self) -> None:
        connection = await self.connect()
        request = StreamRequest(handle="cut-mid-frame", job_id=1)
        error = await failure_of(connection.stream(request, lambda chunk: None))
        self.assertIn("in the middle of a frame", str(error))

    async def test_error_response_ends_a_stream(self) -> None:
        connection = await self.connect()
        chunks: list[StreamResponse] = []
        error = await failure_of(
            connection.stream(StreamRequest(handle="error", job_id=2), chunks.append)
        )
        self.assertIsInstance(error, ServerError)
        self.assertEqual(len(chunks), 2)
        self.assertEqual(await connection.ping(), PingResponse())

    async def test_a_failing_chunk_callback_fails_the_stream_not_the_connection(self) -> None:
        connection = await self.connect()
        seen: list[StreamResponse] = []

        def on_chunk(chunk: StreamResponse) -> None:
            seen.append(chunk)
            raise RuntimeError("consumer broke")

        error = await failure_of(connection.stream(StreamRequest(handle="h1", job_id=4), on_chunk))
        self.assertIsInstance(error, RuntimeError)
        self.assertEqual(len(seen), 1)  # later chunks are read and dropped
        self.assertEqual(await connection.ping(), PingResponse())

    async def test_stream_refuses_other_requests(self) -> None:
        connection = await self.connect()
        error = await failure_of(connection.stream(PingRequest(), lambda chunk: None))
        self.assertIn("type:'StreamRequest', but received: 'PingRequest'", str(error))


class V1Tests(ServerTestCase):
    async def test_v1_commands_and_values(self) -> None:
        connection = await self.connect()
        self.assertEqual(await connection.call(["echo", "hi"]), "hi")
        self.assertTrue(connection.v1_mode)
        self.assertEqual(await connection.call(["create", {"grace_time": 5}]), "h-new")
        self.assertEqual(await connection.call(["run", "h1", "true"]), [3, b"true", b"\xff\x00"])
        self.assertEqual(
            await connection.call(["net", "h1", "in"]),
            {"host_port": 61001, "container_port": 61001},
        )
        self.assertEqual(
            await connection.call(["limit", "h1", "bandwidth", "1", "2"]), "rate: 1 burst: 2"
        )
        self.assertEqual(await connection.call(["list"]), ["h1", "h2"])
        self.assertEqual(self.server.received[1], CreateRequest(grace_time=5))

    async def test_v1_mode_is_for_good(self) -> None:
        connection = await self.connect()
        self.assertEqual(await connection.call(PingRequest()), PingResponse())
        self.assertEqual(await connection.call(("ping",)), "pong")
        self.assertEqual(await connection.call(PingRequest()), "pong")
        self.assertEqual(await connection.ping(), PingResponse())  # typed methods stay typed

    async def test_v1_errors(self) -> None:
        connection = await self.connect()
        for command, message in [
            (["frobnicate"], "Unknown command: FROBNICATE"),
            (["net", "h1", "up"], "Unknown net direction: up"),
            (["copy", "h1", "x", "/a", "/b"], "Unknown copy direction: x"),
            (["limit", "h1", "cpu"], "Unknown limit: cpu"),
        ]:
            error = await failure_of(connection.call(command))
            self.assertIsInstance(error, V1Error)
            self.assertEqual(str(error), message)
        error = await failure_of(connection.call(["info", "missing"]))
        self.assertIsInstance(error, ServerError)
        # In v1 mode a response with no v1 form fails; the answer was read, all in step.
        error = await failure_of(connection.call(LimitCpuRequest(handle="h1")))
        self.assertIsInstance(error, V1Error)
        self.assertEqual(str(error), "Unknown response: LimitCpuResponse")
        self.assertEqual(await connection.call(["ping"]), "pong")

    async def test_v1_stream(self) -> None:
        connection = await self.connect()
        chunks: list[Any] = []
        final = await connection.stream(["stream", "h1", "2"], chunks.append)
        self.assertEqual(chunks, [["stdout", b"chunk 0\n", None], ["stderr", b"chunk 1\n", None]])
        self.assertEqual(final, [None, None, 2])
        self.assertTrue(connection.v1_mode)


class EmptyResponseTests(SynchronousTestCase):
    """An answer with nothing set is known by its bytes; anything else is decoded."""

    def setUp(self) -> None:
        self.connection = WardenConnection()
        self.transport = StringTransport()
        self.connection.makeConnection(self.transport)

    def test_a_ping_answered_by_its_frame(self) -> None:
        first, second = self.connection.ping(), self.connection.ping()
        self.connection.dataReceived(response_to_wire(PingResponse()))
        self.assertEqual(self.successResultOf(first), PingResponse())
        self.assertNoResult(second)
        self.connection.dataReceived(response_to_wire(PingResponse()))
        self.assertEqual(self.successResultOf(second), PingResponse())
        self.assertEqual(self.connection.pending, 0)

    def test_answers_together_or_in_pieces_are_decoded(self) -> None:
        pings = [self.connection.ping() for _ in range(3)]
        frame = response_to_wire(PingResponse())
        self.connection.dataReceived(frame * 2 + frame[:3])
        self.connection.dataReceived(frame[3:])
        for ping in pings:
            self.assertEqual(self.successResultOf(ping), PingResponse())

    def test_an_error_or_the_wrong_type_is_not_taken_for_it(self) -> None:
        ping = self.connection.ping()
        self.connection.dataReceived(response_to_wire(ErrorResponse(message="no")))
        self.assertIsInstance(self.failureResultOf(ping).value, ServerError)
        ping = self.connection.ping()
        self.connection.dataReceived(response_to_wire(ListResponse()))
        self.assertIsInstance(self.failureResultOf(ping).value, ClientConnectionError)

    def test_an_empty_stream_frame_is_a_chunk_not_the_end(self) -> None:
        chunks: list[Any] = []
        done = self.connection.stream(StreamRequest(handle="h", job_id=1), chunks.append)
        self.connection.dataReceived(response_to_wire(StreamResponse()))
        self.assertEqual(chunks, [StreamResponse()])
        self.assertNoResult(done)
        self.connection.dataReceived(response_to_wire(StreamResponse(exit_status=0)))
        self.assertEqual(self.successResultOf(done), StreamResponse(exit_status=0))
