"""The blocking warden client and the v1 compatibility layer.

::

    from warden.client import Client

    with Client("/tmp/warden.sock") as client:
        handle = client.create(grace_time=30).handle
        print(client.run(handle, "echo hi").stdout)      # b'hi\\n'

Every request type has a typed method named after it (``create``, ``net_in``,
``limit_memory`` ...): required fields positional, the rest keywords.
``call(request)`` sends any request; ``call(["run", handle, "echo hi"])`` is the
v1 form. Errors are drawn as a tree in ``warden.client._errors``.
"""

from ._client import DEFAULT_SOCKET_PATH, Client, server_error
from ._errors import (
    ClientConnectionError,
    ClientError,
    ClientTimeoutError,
    ServerError,
    V1Error,
)
from ._methods import RequestMethods
from ._v1 import V1_COMMANDS, is_v1_command, request_from_v1, response_to_v1

__all__ = [
    "DEFAULT_SOCKET_PATH",
    "Client",
    "RequestMethods",
    "ClientError",
    "ServerError",
    "ClientConnectionError",
    "ClientTimeoutError",
    "V1Error",
    "V1_COMMANDS",
    "is_v1_command",
    "request_from_v1",
    "response_to_v1",
    "server_error",
]
