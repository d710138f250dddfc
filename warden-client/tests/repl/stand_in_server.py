"""A small real Twisted warden server on a real unix socket, for the shell's tests.

It stands in for warden-server until that exists: containers are entries in a
dict, jobs are real ``bash`` processes on the host, everything else answers
as the protocol says (``unknown handle``, echoing limits back ...).

    python stand_in_server.py SOCKET_PATH
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

from twisted.internet import defer, protocol, reactor
from twisted.internet.error import ProcessDone, ProcessTerminated

from warden import protocol as wp


class Job(protocol.ProcessProtocol):
    def __init__(self, script: str) -> None:
        self.script = script
        self.output: list[tuple[str, bytes]] = []
        self.exit_status: int | None = None
        self.listeners: list[Any] = []
        self.done: defer.Deferred[None] = defer.Deferred()

    def connectionMade(self) -> None:
        self.transport.write(self.script.encode())
        self.transport.closeStdin()

    def outReceived(self, data: bytes) -> None:
        self._chunk("stdout", data)

    def errReceived(self, data: bytes) -> None:
        self._chunk("stderr", data)

    def _chunk(self, name: str, data: bytes) -> None:
        self.output.append((name, data))
        for listener in list(self.listeners):
            listener(name, data)

    def processEnded(self, reason: Any) -> None:
        if reason.check(ProcessDone):
            self.exit_status = 0
        elif reason.check(ProcessTerminated):
            self.exit_status = reason.value.exitCode if reason.value.exitCode is not None else 255
        self.done.callback(None)


class Server:
    def __init__(self) -> None:
        self.containers: dict[str, dict[int, Job]] = {}
        self.ids = itertools.count(1)
        self.jobs = itertools.count(1)
        self.ports = itertools.count(61001)


class Connection(protocol.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.decoder = wp.MessageDecoder("request")
        self.queue: defer.Deferred[None] = defer.succeed(None)

    def dataReceived(self, data: bytes) -> None:
        self.decoder.feed(data)
        for request in self.decoder:
            self.queue.addCallback(lambda _, r=request: self.handle(r))

    def send(self, response: Any) -> None:
        self.transport.write(wp.response_to_wire(response))

    def error(self, message: str) -> None:
        self.send(wp.ErrorResponse(message=message))

    @defer.inlineCallbacks
    def handle(self, request: Any) -> Any:
        name = wp.type_underscored(request)
        handle = getattr(request, "handle", None) if name != "create" else None
        if handle is not None and handle not in self.server.containers:
            self.error("unknown handle")
            return
        method = getattr(self, "do_" + name, None)
        if method is None:
            self.send(wp.response_class_for(request)())
            return
        yield method(request)

    def do_ping(self, request: Any) -> None:
        self.send(wp.PingResponse())

    def do_echo(self, request: Any) -> None:
        self.send(wp.EchoResponse(message=request.message))

    def do_list(self, request: Any) -> None:
        self.send(wp.ListResponse(handles=sorted(self.server.containers)))

    def do_create(self, request: Any) -> None:
        handle = request.handle or f"stand-in-{next(self.server.ids)}"
        if handle in self.server.containers:
            self.error(f"container with handle: {handle} already exists.")
            return
        self.server.containers[handle] = {}
        self.send(wp.CreateResponse(handle=handle))

    def do_destroy(self, request: Any) -> None:
        del self.server.containers[request.handle]
        self.send(wp.DestroyResponse())

    def do_info(self, request: Any) -> None:
        jobs = self.server.containers[request.handle]
        info = wp.InfoResponse(state="active", container_path="/nowhere")
        info.job_ids.extend(sorted(i for i, j in jobs.items() if j.exit_status is None))
        info.memory_stat.rss = 4096
        self.send(info)

    def do_spawn(self, request: Any) -> None:
        job_id = next(self.server.jobs)
        job = Job(request.script)
        reactor.spawnProcess(job, "/bin/bash", ["bash"], env={})
        self.server.containers[request.handle][job_id] = job
        self.send(wp.SpawnResponse(job_id=job_id))

    def _job(self, request: Any) -> Job | None:
        job = self.server.containers[request.handle].pop(request.job_id, None)
        if job is None:
            self.error("no such job")
        return job

    @defer.inlineCallbacks
    def do_link(self, request: Any) -> Any:
        job = self._job(request)
        if job is None:
            return
        yield job.done
        self.send(
            wp.LinkResponse(
                exit_status=job.exit_status,
                stdout=b"".join(d for n, d in job.output if n == "stdout"),
                stderr=b"".join(d for n, d in job.output if n == "stderr"),
            )
        )

    @defer.inlineCallbacks
    def do_stream(self, request: Any) -> Any:
        job = self._job(request)
        if job is None:
            return
        for name, data in job.output:
            self.send(wp.StreamResponse(name=name, data=data))

        def live(name: str, data: bytes) -> None:
            self.send(wp.StreamResponse(name=name, data=data))

        job.listeners.append(live)
        yield job.done
        self.send(wp.StreamResponse(exit_status=job.exit_status))

    def do_net_in(self, request: Any) -> None:
        port = request.host_port or next(self.server.ports)
        self.send(wp.NetInResponse(host_port=port, container_port=request.container_port or port))

    def do_limit_memory(self, request: Any) -> None:
        self.send(wp.LimitMemoryResponse(limit_in_bytes=request.limit_in_bytes or 1 << 30))

    def do_limit_bandwidth(self, request: Any) -> None:
        self.send(wp.LimitBandwidthResponse(rate=request.rate, burst=request.burst))

    def do_limit_cpu(self, request: Any) -> None:
        self.send(wp.LimitCpuResponse(limit_in_shares=request.limit_in_shares or 1024))


class Factory(protocol.Factory):
    def __init__(self) -> None:
        self.server = Server()

    def buildProtocol(self, addr: Any) -> Connection:
        return Connection(self.server)


def main() -> None:
    reactor.listenUNIX(sys.argv[1], Factory())
    print("listening", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
