"""The blocking warden client and the v1 compatibility layer.

::

    from warden.client import Client

    with Client("/tmp/warden.sock") as client:
        handle = client.create(grace_time=30).handle
        print(client.run(handle, "echo hi").stdout)      # b'hi\\n'

Every request type has a typed method named after it (``create``, ``net_in``,
``limit_memory`` ...): required fields positional, the rest keywords.
``call(request)`` sends any request; ``call(["run", handle, "echo hi"])`` is the
v1 form.

The errors (drawn as a tree in ``warden.protocol.errors``) and the v1
translation (``warden.protocol.v1``) live in warden-protocol, shared with the
Twisted client, and are re-exported here: ``from warden.client import
ServerError`` and ``from warden.twisted_client import ServerError`` are the
same class. The ``warden`` shell is the ``repl`` extra
(``pip install 'warden-client[repl]'``).
"""

from warden.protocol import DEFAULT_SOCKET_PATH
from warden.protocol.errors import (
    ClientConnectionError,
    ClientError,
    ClientTimeoutError,
    ExtensionNotSupported,
    ServerError,
    V1Error,
    server_error,
)
from warden.protocol.v1 import V1_COMMANDS, is_v1_command, request_from_v1, response_to_v1

from ._client import Client
from ._methods import RequestMethods

__all__ = [
    "DEFAULT_SOCKET_PATH",
    "Client",
    "RequestMethods",
    "ClientError",
    "ServerError",
    "ClientConnectionError",
    "ClientTimeoutError",
    "ExtensionNotSupported",
    "V1Error",
    "V1_COMMANDS",
    "is_v1_command",
    "request_from_v1",
    "response_to_v1",
    "server_error",
]
