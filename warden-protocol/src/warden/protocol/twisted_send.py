"""``send_now``: a frame straight into an idle Twisted socket transport;
``read_plainly``: a unix socket transport reading with ``recv``.

For the Twisted users only (the server's connections and the Twisted
client); it imports nothing of Twisted itself, so ``warden.protocol`` stays
free of it for the blocking client's users.

Twisted's ``write`` only queues: the bytes go out on the reactor's next
round, after arming and then disarming EPOLLOUT (two ``epoll_ctl`` and one
more ``epoll_wait`` per frame). When nothing is queued before it, sending at
once keeps the order and saves that round. Whether anything is queued is in
the transport's private fields (``dataBuffer``, ``offset``,
``_tempDataLen``, ``_sendmsgQueue``) of the Twisted version pinned in
constraints.txt; twisted-warden-client's ``tests/test_send_now.py`` fails if
they change. Anything unexpected (another transport, a missing field, an
error) sends nothing here and leaves it all to ``write``, which also reports
errors.

Twisted's unix socket transports read with ``recvmsg`` and a buffer for
passed file descriptors, which warden never sends: ``read_plainly`` gives a
connection's transport the socket transports' own ``recv`` read (about 3 us
less per read on this machine, on every request and every response).
"""

from __future__ import annotations

from typing import Any

__all__ = ["idle", "read_plainly", "send_now", "send_parts_now"]


def idle(transport: Any) -> bool:
    """Whether ``transport`` is a connected socket transport with nothing queued.

    Raises AttributeError when the transport lacks the fields looked at.
    """
    return bool(
        transport.connected
        and not transport.disconnecting
        and not transport._tempDataLen
        and len(transport.dataBuffer) == transport.offset
        and not getattr(transport, "_sendmsgQueue", None)
    )


def _idle_socket(transport: Any) -> Any:
    """The transport's socket when nothing is queued before a write; else None."""
    sock: Any = getattr(transport, "socket", None)
    if sock is None:
        return None
    try:
        return sock if idle(transport) else None
    except AttributeError:
        return None


def send_now(transport: Any, data: bytes) -> int:
    """Send what the socket takes now, when nothing is queued before it; how much.

    The caller gives the rest (``data[sent:]``) to ``transport.write``.
    """
    sock = _idle_socket(transport)
    if sock is None:
        return 0
    try:
        sent: int = sock.send(data)
    except OSError:
        return 0
    return sent


def send_parts_now(transport: Any, parts: list[bytes]) -> int:
    """``send_now`` of the parts' join, gathered by ``sendmsg`` (no join).

    The caller queues what was not sent, from that many bytes in.
    """
    sock = _idle_socket(transport)
    if sock is None:
        return 0
    try:
        sent: int = sock.sendmsg(parts)
    except OSError:
        return 0
    return sent


def read_plainly(transport: Any) -> bool:
    """Have a Twisted unix socket transport read with ``recv``; whether it does now.

    Only for the pinned Twisted's own ``unix.Server`` and ``unix.Client``
    (their ``_SendmsgMixin.doRead`` reads file descriptors too); anything
    else is left as it is. Twisted is imported here, by its users only.
    """
    from twisted.internet import tcp, unix

    if type(transport) not in (unix.Server, unix.Client):
        return False
    # The base socket transport's read, bound to this transport only.
    transport.doRead = tcp.Connection.doRead.__get__(transport)
    return True
