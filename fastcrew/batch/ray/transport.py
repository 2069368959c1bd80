"""The relay transport: a worker actor's bytes over Ray calls, for drivers the cluster cannot
reach (Ray Client, ``ray://``).

:func:`relay` bridges one end of a local ``socketpair`` (the supervisor reads and writes the
other end, exactly as for a local worker) and the actor: what the supervisor writes goes out
as one ``push(seq, data)`` per read, and one ``poll()`` is kept outstanding, its answer written
back. When the actor dies (killed, its node lost) the poll fails and the bridge closes its
socket, so the supervisor reads end-of-stream, just like a local worker's closed socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

__all__ = ["relay"]

_READ = 1 << 20


async def relay(actor: Any, sock: socket.socket, gone: tuple[type[BaseException], ...]) -> None:
    """Bridge ``sock`` and ``actor`` until either side ends; then close ``sock``."""
    reader, writer = await asyncio.open_connection(sock=sock, limit=_READ)

    async def outbound() -> None:
        seq = 0
        while data := await reader.read(_READ):
            actor.push.remote(seq, data)
            seq += 1

    async def inbound() -> None:
        while data := await actor.poll.remote():
            writer.write(data)
            await writer.drain()

    tasks = [asyncio.create_task(outbound()), asyncio.create_task(inbound())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, *gone):
                await task
        writer.close()
