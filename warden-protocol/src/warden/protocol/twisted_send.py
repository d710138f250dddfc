"""``send_now``: a frame straight into an idle Twisted socket transport.

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
"""

from __future__ import annotations

from typing import Any

__all__ = ["idle", "send_now"]


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


def send_now(transport: Any, data: bytes) -> int:
    """Send what the socket takes now, when nothing is queued before it; how much.

    The caller gives the rest (``data[sent:]``) to ``transport.write``.
    """
    sock: Any = getattr(transport, "socket", None)
    if sock is None:
        return 0
    try:
        if not idle(transport):
            return 0
    except AttributeError:
        return 0
    try:
        sent: int = sock.send(data)
    except OSError:
        return 0
    return sent
