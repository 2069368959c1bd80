"""Group commit: the adds one event loop makes to one table while a write is under way are
written together, as one LanceDB add under one hold of the table's lock. Every LanceDB add
commits a table version (~4-7 ms of CPU however few rows), and a batch's rows save their
memories at the same moments, so fifty saves in flight become one or two commits, not fifty.

The first add of a quiet table is written on the loop's next turn (nothing to wait for);
adds arriving meanwhile join the next write. An add whose caller is cancelled is still
written with its group (its rows are ids: adding them again adds nothing).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from .records import VectorRecord

__all__ = ["Add", "GroupCommit", "WriteGroup"]

Add = tuple[list[VectorRecord], bool, "asyncio.Future[int]"]
"""One caller's records, whether it vouches they are absent, and its count of rows added."""
WriteGroup = Callable[[Sequence[Add], int], Awaitable[list[int]]]
"""Writes a group of adds of one vector length; returns each add's count of rows added."""


class GroupCommit:
    """One loop's queue of adds to one table, written by one writer task at a time."""

    def __init__(self, write: WriteGroup) -> None:
        self._write = write
        self._waiting: list[Add] = []
        self._writer: asyncio.Task[None] | None = None

    async def add(self, records: list[VectorRecord], absent: bool) -> int:
        """Queue ``records`` for the next write; how many of them were added."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        self._waiting.append((records, absent, done))
        if self._writer is None:
            self._writer = loop.create_task(self._drain())
        return await asyncio.shield(done)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                dim = len(self._waiting[0][0][0].vector)
                group = [a for a in self._waiting if len(a[0][0].vector) == dim]
                self._waiting = [a for a in self._waiting if len(a[0][0].vector) != dim]
                try:
                    counts = await self._write(group, dim)
                except Exception as exc:
                    for _, _, done in group:
                        done.set_exception(exc)
                        done.exception()  # retrieved: a cancelled caller's is not reported
                    continue
                for (_, _, done), count in zip(group, counts, strict=True):
                    done.set_result(count)
        finally:
            self._writer = None
