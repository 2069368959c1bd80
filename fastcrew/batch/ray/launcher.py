"""Starting a batch worker as a Ray actor: the Ray backend's
:data:`~fastcrew.batch.supervisor.worker_process.Launcher`.

:meth:`ActorLauncher.launch` places a :class:`~fastcrew.batch.ray.actor.WorkerActor`
(round-robin over the cluster's nodes, one CPU each) and returns its handle and the driver's
end of a socket to it; the pool serves that socket exactly as a local worker's socketpair:

- **direct** (default): the driver listens on its Ray node address, the actor connects and
  presents a one-time 32-byte ticket (anything else is dropped before a byte is unpickled);
  the connection then carries the local framing, so the lease path costs what it costs
  locally;
- **relay** (``ray://`` drivers, which the cluster cannot reach): the bytes travel in Ray
  calls, bridged to a local ``socketpair`` (:mod:`fastcrew.batch.ray.transport`).

A dead actor — ``kill -9``, OOM, ``ray kill``, its node lost — closes its connection (or
fails its poll); the pool handles that like a local worker's death.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

from .transport import relay

__all__ = ["CONNECT_TIMEOUT_S", "TICKET_BYTES", "ActorLauncher", "RayWorker"]

TICKET_BYTES = 32
CONNECT_TIMEOUT_S = 120.0
"""How long a new actor may take to be placed, start and connect (Ray may start a process)."""


@dataclass(eq=False)
class RayWorker:
    """One worker actor of the pool, with the ``subprocess.Popen`` subset the supervisor
    uses for a local worker (``pid``, ``poll``, ``kill``, ``wait``, ``returncode``)."""

    slot: int
    actor: Any
    pool: ActorLauncher
    node_id: str = ""
    node_address: str = ""
    pid: int | None = None
    sock: socket.socket | None = None
    returncode: int | None = None
    where_task: asyncio.Task[None] | None = field(default=None, repr=False)
    relay_task: asyncio.Task[None] | None = field(default=None, repr=False)

    def poll(self) -> int | None:
        """None while the actor may be alive."""
        return self.returncode

    def kill(self) -> None:
        """Kill the actor process (``ray.kill``)."""
        self.pool.session.kill(self.actor)
        self.returncode = -9

    def wait(self, timeout: float | None = None) -> int:
        """Called once the worker's socket closed: the actor is done; make sure it is gone."""
        if self.returncode is None:
            self.kill()
        assert self.returncode is not None
        return self.returncode


class ActorLauncher:
    """Starts, locates and kills the worker actors of one run.

    ``session`` is a :class:`~fastcrew.batch.ray._ray.RaySession`; ``relay`` forces the
    Ray-call transport (it is chosen for ``ray://`` addresses); ``num_cpus`` is each actor's
    CPU request.
    """

    def __init__(self, session: Any, *, relay: bool = False, num_cpus: float = 1.0) -> None:
        self.session = session
        self.relay = relay
        self.num_cpus = num_cpus
        self.workers: dict[int, RayWorker] = {}
        self.placed = 0
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task[None] | None = None
        self._admitting: set[asyncio.Task[None]] = set()
        self._tickets: dict[bytes, asyncio.Future[socket.socket]] = {}
        self._address: tuple[str, int] | None = None

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Open the listener the actors connect to (direct transport)."""
        if self.relay:
            return
        host = self.session.driver_address()
        listener = socket.create_server((host, 0), backlog=128)
        listener.setblocking(False)
        self._listener = listener
        self._address = (host, listener.getsockname()[1])
        self._accepting = asyncio.get_running_loop().create_task(self._accept())

    async def _accept(self) -> None:
        assert self._listener is not None
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(self._listener)
            task = loop.create_task(self._admit(conn))
            self._admitting.add(task)
            task.add_done_callback(self._admitting.discard)

    async def _admit(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        conn.setblocking(False)
        ticket = b""
        try:
            async with asyncio.timeout(10.0):
                while len(ticket) < TICKET_BYTES:
                    part = await loop.sock_recv(conn, TICKET_BYTES - len(ticket))
                    if not part:
                        break
                    ticket += part
        except (TimeoutError, OSError):
            ticket = b""
        waiter = next((f for t, f in self._tickets.items() if hmac.compare_digest(t, ticket)), None)
        if waiter is None or waiter.done():
            conn.close()  # not one of ours: nothing of it is read further
            return
        waiter.set_result(conn)

    async def launch(self, slot: int) -> tuple[RayWorker, socket.socket]:
        """Place a new actor for ``slot`` and connect to it; raises when it cannot start
        (placement, import or connection failed within :data:`CONNECT_TIMEOUT_S`)."""
        nodes = self.session.nodes()
        node_id = nodes[self.placed % len(nodes)][0] if nodes else None
        self.placed += 1
        loop = asyncio.get_running_loop()
        if self.relay:
            actor = self.session.start(node_id, num_cpus=self.num_cpus)
            worker = self.workers[slot] = RayWorker(slot, actor, self)
            worker.sock, theirs = socket.socketpair()
            worker.relay_task = loop.create_task(relay(actor, theirs, self.session.gone))
            worker.where_task = loop.create_task(self._locate(worker))
        else:
            assert self._address is not None
            ticket = secrets.token_bytes(TICKET_BYTES)
            waiter: asyncio.Future[socket.socket] = loop.create_future()
            self._tickets[ticket] = waiter
            try:
                actor = self.session.start(
                    node_id, num_cpus=self.num_cpus, connect=self._address, ticket=ticket
                )
                worker = self.workers[slot] = RayWorker(slot, actor, self)  # killed at close
                worker.where_task = loop.create_task(self._locate(worker))
                pending: list[asyncio.Future[Any]] = [waiter, worker.where_task]
                await asyncio.wait(
                    pending,
                    timeout=CONNECT_TIMEOUT_S,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if not waiter.done() and worker.where_task.done():
                    failed = worker.where_task.exception()
                    if failed is not None:  # the actor did not start
                        worker.kill()
                        raise failed
                    await asyncio.wait([waiter], timeout=CONNECT_TIMEOUT_S)
                if not waiter.done():
                    worker.kill()
                    raise TimeoutError(f"worker actor {slot} did not connect in time")
                worker.sock = waiter.result()
            finally:
                self._tickets.pop(ticket, None)
        assert worker.where_task is not None
        await asyncio.wait([worker.where_task], timeout=CONNECT_TIMEOUT_S)  # its pid, node
        assert worker.sock is not None
        return worker, worker.sock

    async def _locate(self, worker: RayWorker) -> None:
        node_id, address, pid = await worker.actor.where.remote()
        worker.node_id, worker.node_address, worker.pid = node_id, address, pid

    async def close(self) -> None:
        """Kill every actor left and close the listener."""
        for worker in self.workers.values():
            if worker.returncode is None:
                worker.kill()
            for task in (worker.where_task, worker.relay_task):
                if task is not None and not task.done():
                    task.cancel()
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
        if self._listener is not None:
            self._listener.close()
