"""The asynchronous warden client, for Twisted programs and long-running agents.

::

    from twisted.internet import task
    from warden.twisted_client import connect

    async def main(reactor):
        connection = await connect(reactor, "/tmp/warden.sock")
        handle = (await connection.create(grace_time=30)).handle
        result = await connection.run(handle, "echo hi")
        print(result.stdout)                              # b'hi\\n'
        await connection.disconnect()

    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))

Requests are pipelined on one connection and answered in order.
``ReconnectingClient`` reconnects with backoff. The errors are those of
``warden.protocol.errors`` (``ServerError``, ``ClientConnectionError`` ...),
the same classes the blocking client raises, re-exported here.
"""

from warden.protocol.errors import (
    ClientConnectionError,
    ClientError,
    ClientTimeoutError,
    ExtensionNotSupported,
    ServerError,
    V1Error,
)

from ._connect import ConnectionFactory, connect, endpoint_for
from ._connection import ChunkCallback, WardenConnection
from ._methods import DeferredRequestMethods
from ._reconnecting import ReconnectingClient

__all__ = [
    "connect",
    "endpoint_for",
    "ConnectionFactory",
    "WardenConnection",
    "ChunkCallback",
    "DeferredRequestMethods",
    "ReconnectingClient",
    "ClientError",
    "ServerError",
    "ClientConnectionError",
    "ClientTimeoutError",
    "ExtensionNotSupported",
    "V1Error",
]
