"""One event loop's queue of texts to embed for one :class:`~fastcrew.embeddings.Embedder`.

Every call on the loop adds its missing texts to one queue, and the queue is sent as
requests of up to ``max_inputs`` texts and ``max_tokens`` estimated tokens, at most
``concurrency`` at a time. So calls made together share requests — many rows each asking for
one text make one request, not one each — and while every request slot is busy the queue
grows, so requests get fuller exactly when the endpoint is the bottleneck. Each text has one
slot (a future) from the moment it is queued until its answer, registered in the loop's
table of texts in flight, where calls of every Embedder find it rather than send it again.
A request goes on when the call that queued it is cancelled: others may wait for it, and its
vectors are kept.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from .batching import Queued, estimate_tokens, take_batch
from .wire import Vector

__all__ = ["Batcher", "Send", "Slots"]

Slots = dict[bytes, "asyncio.Future[Vector]"]
"""Texts in flight on one loop, by content key."""
Send = Callable[[list[str], int], Awaitable[list[Vector]]]
"""Sends one request: its texts and their estimated tokens → their vectors, in order."""


class Batcher:
    """Queues texts and sends them in batches with ``send``; ``answered(pairs)`` is told each
    request's (key, vector) pairs; ``idle()`` is called when nothing is queued or in flight."""

    def __init__(
        self,
        send: Send,
        answered: Callable[[list[tuple[bytes, Vector]]], None],
        idle: Callable[[Batcher], None],
        slots: Slots,
        limits: tuple[int, int, int],
    ) -> None:
        self._send = send
        self._answered = answered
        self._idle = idle
        self._slots = slots
        self._max_inputs, self._max_tokens, self._concurrency = limits
        self._queue: deque[Queued] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._scheduled = False
        self._loop = asyncio.get_running_loop()

    def submit(self, key: bytes, text: str) -> asyncio.Future[Vector]:
        """The slot of ``key``'s vector (queued now unless it is already in flight)."""
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = self._loop.create_future()
            self._queue.append(Queued(key, text, estimate_tokens(text)))
            self._schedule()
        return slot

    def _schedule(self) -> None:
        """Start requests on the loop's next turn: texts queued meanwhile join them."""
        if not self._scheduled and len(self._running) < self._concurrency:
            self._scheduled = True
            self._loop.call_soon(self._start)

    def _start(self) -> None:
        self._scheduled = False
        while self._queue and len(self._running) < self._concurrency:
            batch = take_batch(self._queue, self._max_inputs, self._max_tokens)
            task = self._loop.create_task(self._request(batch))
            self._running.add(task)
            task.add_done_callback(self._done)

    async def _request(self, batch: list[Queued]) -> None:
        try:
            vectors = await self._send([q.text for q in batch], sum(q.tokens for q in batch))
        except Exception as exc:
            for queued in batch:
                slot = self._slots.pop(queued.key)
                slot.set_exception(exc)
                slot.exception()  # retrieved: the calls waiting for it raise it
            return
        except BaseException:  # the loop is closing
            for queued in batch:
                self._slots.pop(queued.key).cancel()
            raise
        pairs = [(q.key, vector) for q, vector in zip(batch, vectors, strict=True)]
        try:
            self._answered(pairs)
        finally:  # the vectors are the callers' even if keeping them failed
            for key, vector in pairs:
                self._slots.pop(key).set_result(vector)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._queue:
            self._schedule()
        elif not self._running and not self._scheduled:
            self._idle(self)
