"""The Ray worker actor: the local backend's worker, unchanged, on a socket to the driver.

An actor process runs one :class:`WorkerActor`. Its constructor starts a thread that runs the
batch worker (``fastcrew.batch.worker``: its own uvloop, LLM session, crew, leased budget) on
a socket, exactly as a local worker runs on the socket its supervisor passed it:

- **direct** (the default): the actor connects to the driver's listener (``connect``) and
  sends its one-time ``ticket`` first; from then on the bytes are the local backend's
  (:class:`~fastcrew.batch.wire.channel.Channel` framing) and Ray carries nothing per message;
- **relay** (a Ray Client driver, ``ray://``, which cluster nodes cannot reach): the worker
  gets one end of a ``socketpair`` and the actor relays its bytes over Ray calls —
  ``push(seq, data)`` towards the worker (``seq`` orders pushes: Ray does not promise
  in-order execution for async actors) and ``poll()`` back (what the worker wrote since the
  last poll; ``b""`` once it has exited). The driver keeps one poll outstanding, so messages
  written while a poll travels are batched into the next.

Nothing here imports Ray: the class is made remote in :mod:`fastcrew.batch.ray._ray`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

__all__ = ["POLL_BYTES", "WorkerActor"]

POLL_BYTES = 1 << 20
"""At most this much per poll answer."""


def _serve_worker(sock: socket.socket) -> None:
    """The worker's thread: what ``worker_main`` does after its signal set-up (signals
    belong to the actor process's main thread, which Ray owns)."""
    from ..worker.main import serve

    try:
        serve(sock)  # a SystemExit (the driver gone before the config) ends the thread quietly
    finally:
        sock.close()


class WorkerActor:
    """One batch worker in a Ray actor process (an async actor: the relay runs on Ray's
    event loop, the worker on its own loop in a thread)."""

    def __init__(
        self, connect: tuple[str, int] | None = None, ticket: bytes = b"", timeout: float = 30.0
    ) -> None:
        if connect is not None:
            sock = socket.create_connection(connect, timeout=timeout)
            sock.sendall(ticket)
            sock.settimeout(None)
            self._sock: socket.socket | None = None
        else:
            self._sock, sock = socket.socketpair()
        self._thread = threading.Thread(
            target=_serve_worker, args=(sock,), name="fastcrew-worker", daemon=True
        )
        self._thread.start()
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock: asyncio.Lock | None = None
        self._next = 0
        self._early: dict[int, bytes] = {}

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._sock is None:
            raise RuntimeError("a direct worker actor has no relay")
        if self._streams is None:
            if self._lock is None:
                self._lock = asyncio.Lock()
            async with self._lock:
                if self._streams is None:
                    self._streams = await asyncio.open_connection(sock=self._sock, limit=POLL_BYTES)
        return self._streams

    async def push(self, seq: int, data: bytes) -> None:
        """Bytes for the worker, written in ``seq`` order."""
        _, writer = await self._open()
        self._early[seq] = data
        while self._next in self._early:
            writer.write(self._early.pop(self._next))
            self._next += 1
        with contextlib.suppress(ConnectionError):  # the worker exited; polls say so
            await writer.drain()

    async def poll(self) -> bytes:
        """What the worker wrote since the last poll (waits for something); ``b""`` when
        the worker has exited."""
        reader, _ = await self._open()
        try:
            return await reader.read(POLL_BYTES)
        except ConnectionError:
            return b""
