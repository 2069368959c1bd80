"""One event loop's queue of texts to embed for one :class:`~fastcrew.embeddings.Embedder`.

Every call on the loop adds its missing texts to one queue of requests: a text joins the
last unsent request while it fits (``max_inputs`` texts, ``max_tokens`` estimated tokens;
:func:`~fastcrew.embeddings.batching.fits`), else starts the next one — the cut
:func:`~fastcrew.embeddings.batching.take_batch` makes of the same texts. Requests are sent
at most ``concurrency`` at a time. So calls made together share requests — many rows each
asking for one text make one request, not one each — and while every request slot is busy
the queue grows, so requests get fuller exactly when the endpoint is the bottleneck.

Each text is registered, from the moment it is queued until its answer, in the loop's table
of texts in flight (:data:`Slots`, by content key), under its :class:`Request`, where calls
of every Embedder find it rather than send it again. A request has one future for all its
texts (not one each: 10,000 texts are 5 futures, not 10,000 futures, their callbacks and
their garbage-collector work). A request goes on when the call that queued it is cancelled:
others may wait for it, and its vectors are kept.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from .batching import estimate_tokens, fits
from .wire import Vector

__all__ = ["Batcher", "Request", "Send", "Slots"]

Send = Callable[[list[str], int], Awaitable[list[Vector]]]
"""Sends one request: its texts and their estimated tokens → their vectors, in order."""


class Request:
    """One request's texts (by content key, in order) and estimated tokens; ``answer`` is
    its vectors by key, or its error."""

    __slots__ = ("answer", "keys", "texts", "tokens")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.keys: list[bytes] = []
        self.texts: list[str] = []
        self.tokens = 0
        self.answer: asyncio.Future[dict[bytes, Vector]] = loop.create_future()

    def vector(self, key: bytes) -> Vector:
        """The vector of ``key`` (one of this request's) once answered; raises its error."""
        return self.answer.result()[key]


Slots = dict[bytes, Request]
"""Texts in flight on one loop, by content key: the request that carries each."""


class Batcher:
    """Queues texts and sends them in batches with ``send``; ``answered(keys, vectors)`` is
    told each request's answer; ``idle()`` is called when nothing is queued or in flight."""

    def __init__(
        self,
        send: Send,
        answered: Callable[[list[bytes], list[Vector]], None],
        idle: Callable[[Batcher], None],
        slots: Slots,
        limits: tuple[int, int, int],
    ) -> None:
        self._send = send
        self._answered = answered
        self._idle = idle
        self._slots = slots
        max_inputs, max_tokens, self._concurrency = limits
        self._caps = (max_inputs, max_tokens)
        self._queue: deque[Request] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._scheduled = False
        self._loop = asyncio.get_running_loop()

    def submit(self, key: bytes, text: str) -> Request:
        """The request carrying ``key``'s vector (queued now unless it is already in flight)."""
        request = self._slots.get(key)
        if request is None:
            tokens = estimate_tokens(text)
            request = self._queue[-1] if self._queue else None
            if request is None or not fits(len(request.keys), request.tokens, tokens, *self._caps):
                request = Request(self._loop)
                self._queue.append(request)
                self._schedule()
            request.keys.append(key)
            request.texts.append(text)
            request.tokens += tokens
            self._slots[key] = request
        return request

    def _schedule(self) -> None:
        """Start requests on the loop's next turn: texts queued meanwhile join them."""
        if not self._scheduled and len(self._running) < self._concurrency:
            self._scheduled = True
            self._loop.call_soon(self._start)

    def _start(self) -> None:
        self._scheduled = False
        while self._queue and len(self._running) < self._concurrency:
            task = self._loop.create_task(self._request(self._queue.popleft()))
            self._running.add(task)
            task.add_done_callback(self._done)

    async def _request(self, request: Request) -> None:
        keys, answer = request.keys, request.answer
        try:
            vectors = await self._send(request.texts, request.tokens)
            found = dict(zip(keys, vectors, strict=True))
        except Exception as exc:
            self._release(keys)
            answer.set_exception(exc)
            answer.exception()  # retrieved: the calls waiting for it raise it
            return
        except BaseException:  # the loop is closing
            self._release(keys)
            answer.cancel()
            raise
        try:
            self._answered(keys, vectors)
        finally:  # the vectors are the callers' even if keeping them failed
            self._release(keys)
            answer.set_result(found)

    def _release(self, keys: list[bytes]) -> None:
        slots = self._slots
        for key in keys:
            del slots[key]

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._queue:
            self._schedule()
        elif not self._running and not self._scheduled:
            self._idle(self)
