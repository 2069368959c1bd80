"""Supervisor ↔ worker messages over a socketpair: 4-byte length + a pickled message
(:mod:`~fastcrew.batch.wire.messages`).

Both ends run an event loop, so a channel is a pair of asyncio streams. ``send`` never
blocks (it queues in the transport); the row traffic awaits :meth:`Channel.drain` so a slow
reader applies backpressure. The peer is our own process, so pickle is safe here.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
from typing import Any

__all__ = ["Channel", "open_channel"]

_HEADER = 4


class Channel:
    """One end of a supervisor ↔ worker connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self.closed = False

    def send(self, message: Any) -> None:
        """Queue one message (dropped silently once the channel is closed)."""
        if self.closed or self._writer.is_closing():
            return
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self._writer.write(len(data).to_bytes(_HEADER, "big") + data)

    async def drain(self) -> None:
        """Wait until the transport's buffer is below its high-water mark."""
        if not self.closed and not self._writer.is_closing():
            try:
                await self._writer.drain()
            except ConnectionError:
                self.closed = True

    async def recv(self) -> Any | None:
        """The next message, or None when the peer has gone."""
        try:
            header = await self._reader.readexactly(_HEADER)
            data = await self._reader.readexactly(int.from_bytes(header, "big"))
        except (asyncio.IncompleteReadError, ConnectionError):
            self.closed = True
            return None
        return pickle.loads(data)

    def close(self) -> None:
        """Close our end."""
        self.closed = True
        self._writer.close()


async def open_channel(sock: socket.socket) -> Channel:
    """Wrap a connected socket (one end of a socketpair) in a :class:`Channel`."""
    reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 24)
    return Channel(reader, writer)
