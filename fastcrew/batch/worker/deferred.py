"""``--via batch-api``, the worker's side: LLM calls handed to the supervisor, not sent.

Set as the worker runtime's ``deferrer``, a :class:`Deferrer` takes every chat call of a
fastcrew ``LLM`` (streaming ones are asked for whole and replayed): the request body goes
to the supervisor in a :class:`~fastcrew.batch.wire.messages.Defer` (with its request key,
:func:`fastcrew.cache.request_key`), and the call waits for the
:class:`~fastcrew.batch.wire.messages.Answers` carrying that key. The LLM client parses the
answer as if it came over HTTP, so tools, structured output and the agent loop run as
usual. No rate budget is taken: the Batch API has none to take.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ..._json import dumps, loads
from ...cache import request_key
from ..wire.messages import Defer

__all__ = ["Deferrer"]

_STREAM_FIELDS = ("stream", "stream_options")


class Deferrer:
    """Hands calls to the supervisor through ``send`` and resolves them with
    :meth:`answer`. Each waiting call is sent (identical ones too: the supervisor counts
    rows waiting, and pays for one); one answer resolves every call of its key."""

    def __init__(self, send: Callable[[Any], None]) -> None:
        self._send = send
        self._waiting: dict[bytes, list[asyncio.Future[tuple[int, bytes]]]] = {}
        self._outbox: list[tuple[bytes, str, bytes]] = []
        self._scheduled = False
        self.calls = 0
        """Calls deferred so far."""

    @property
    def waiting(self) -> int:
        """Calls waiting for their answer."""
        return sum(len(futures) for futures in self._waiting.values())

    async def defer(self, url: str, body: bytes) -> tuple[int, bytes]:
        """The provider's answer to ``body`` (for ``url``), as ``(status, body bytes)``."""
        data = loads(body)
        if any(name in data for name in _STREAM_FIELDS):
            for name in _STREAM_FIELDS:
                data.pop(name, None)
            body = dumps(data)
        key = request_key(url, data)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        self._waiting.setdefault(key, []).append(future)
        self._outbox.append((key, str(data.get("model") or ""), body))
        self.calls += 1
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self.flush)
        try:
            return await future
        finally:
            futures = self._waiting.get(key)
            if futures is not None and future in futures:  # cancelled: stop waiting
                futures.remove(future)
                if not futures:
                    del self._waiting[key]

    def flush(self) -> None:
        """Send the calls deferred since the last flush, in one message."""
        self._scheduled = False
        if self._outbox:
            self._send(Defer(self._outbox))
            self._outbox = []

    def answer(self, answers: list[tuple[bytes, int, bytes]]) -> None:
        """Resolve the calls waiting for these ``(key, status, body)`` answers."""
        for key, status, body in answers:
            for future in self._waiting.pop(key, ()):
                if not future.done():
                    future.set_result((status, body))
