"""Writing an SSE answer (all at once, or paced at ``tokens_per_s``: one piece per token),
a broken one, or none (both wires)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import web

__all__ = ["drop", "write_broken", "write_paced"]


async def write_paced(
    request: web.Request,
    response: web.StreamResponse,
    head: bytes,
    pieces: Sequence[bytes],
    tail: bytes,
    speed: float,
) -> bool:
    """Prepare ``response`` and write ``head``, the ``pieces`` (the ``i``-th due at
    ``(i + 1) / speed`` s; all at once when ``speed <= 0``) and ``tail``; False if the client
    went away mid-stream."""
    try:
        await response.prepare(request)
        if speed <= 0:
            await response.write(b"".join([head, *pieces, tail]))
        else:
            await response.write(head)
            loop = asyncio.get_running_loop()
            start = loop.time()
            for i, piece in enumerate(pieces):
                wait = start + (i + 1) / speed - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                await response.write(piece)
            await response.write(tail)
        await response.write_eof()
    except ConnectionError:
        return False
    return True


async def write_broken(request: web.Request, response: web.StreamResponse, data: bytes) -> None:
    """The ``malformed`` fault of a stream: ``data`` (a broken event) and the end."""
    try:
        await response.prepare(request)
        await response.write(data)
        await response.write_eof()
    except ConnectionError:
        pass


async def drop(request: web.Request, stall: bool, closing: asyncio.Event) -> web.Response:
    """The ``reset`` / ``stall`` faults: abort the connection (a stall first waits for the
    shutdown); the returned response is never sent."""
    if stall:
        await closing.wait()
    if request.transport is not None:
        request.transport.abort()
    return web.Response()
