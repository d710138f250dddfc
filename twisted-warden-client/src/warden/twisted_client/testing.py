# -*- test-case-name: tests.test_connection -*-
"""A scripted warden server for testing clients and agents over a real unix socket.

``ScriptedServer`` is a real Twisted server speaking warden frames. Each
decoded request is recorded in ``server.received`` and handed to a handler,
which answers through the ``ServerConnection`` it is given: respond, answer
later, write bytes one at a time, cut the connection in the middle of a frame.
``scripted_warden`` is a ready handler that answers every request type with
a canned response and has scripted misbehaviours (see its docstring).
``TarStreams`` answers stream_in and stream_out (a bounded window of chunks
in flight, an error in the middle of a stream).

    >>> from twisted.internet import reactor                  # doctest: +SKIP
    >>> server = ScriptedServer(scripted_warden)
    >>> port = server.listen(reactor, "/tmp/test-warden.sock")
"""

from __future__ import annotations

from ._scripted_server import Handler, ScriptedServer, ServerConnection
from ._scripted_tar import TarStreams
from ._scripted_warden import output_pattern, scripted_warden

__all__ = [
    "Handler",
    "ScriptedServer",
    "ServerConnection",
    "TarStreams",
    "output_pattern",
    "scripted_warden",
]
