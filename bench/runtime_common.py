"""Shared pieces of the runtime benchmarks: the one-task crew (the same crew
``fastcrew bench`` runs) and a bounded gather."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastcrew.benchmark.crews import one_task_crew

__all__ = ["gather_bounded", "one_task_crew"]


async def gather_bounded(n: int, concurrency: int, one: Callable[[], Awaitable[object]]) -> None:
    """Run ``one()`` n times with ``concurrency`` workers."""

    async def worker(count: int) -> None:
        for _ in range(count):
            await one()

    per, extra = divmod(n, concurrency)
    await asyncio.gather(*(worker(per + (i < extra)) for i in range(concurrency)))
