"""Background saves (CrewAI's ``remember_many``): each runs on the process runtime's home
loop, so it outlives the caller's own loop; :meth:`PendingSaves.adrain` waits for those
started so far, and every memory's saves are waited for when the process exits, as CrewAI's
save pool is. A failed save is logged (CrewAI emits an event), never raised at the caller."""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import Future
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from ..process_runtime import get_runtime

__all__ = ["PendingSaves"]

T = TypeVar("T")
_log = logging.getLogger(__name__)
_ALL: weakref.WeakSet[PendingSaves] = weakref.WeakSet()


class PendingSaves:
    """The background saves of one memory that have not finished yet, and the gate a reset
    closes: saves submitted while it runs wait for it (CrewAI's reset lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: set[Future[Any]] = set()
        self._gate: Future[None] | None = None
        """Set while a reset runs; done when it ends."""

    def __len__(self) -> int:
        return len(self._futures)

    def submit(self, save: Coroutine[Any, Any, Any]) -> None:
        """Start ``save`` in the background (after the reset running now, if any)."""
        with self._lock:
            gate = self._gate
        future = get_runtime().submit(_after(gate, save))
        with self._lock:
            self._futures.add(future)
        _ALL.add(self)
        future.add_done_callback(self._done)

    async def arun(self, save: Coroutine[Any, Any, T]) -> T:
        """Await ``save`` here (after the reset running now, if any)."""
        with self._lock:
            gate = self._gate
        return await _after(gate, save)

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Inside: the saves started before have finished, later ones wait (one at a time)."""
        while True:
            with self._lock:
                running = self._gate
                if running is None:
                    gate = self._gate = Future()
                    before = list(self._futures)
                    break
            await asyncio.wrap_future(running)  # another reset first
        try:
            await _wait(before)
            yield
        finally:
            with self._lock:
                self._gate = None
            gate.set_result(None)

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.discard(future)
        if not future.cancelled() and (exc := future.exception()) is not None:
            _log.error("background memory save failed: %s", exc)

    async def adrain(self) -> None:
        """Wait for every save started so far (their failures are logged, not raised)."""
        with self._lock:
            pending = list(self._futures)
        await _wait(pending)

    def drain(self) -> None:
        """:meth:`adrain` from synchronous code (any thread but the home loop's)."""
        with self._lock:
            pending = list(self._futures)
        for future in pending:
            if not future.cancelled():
                future.exception()  # waits; the failure is logged by _done


async def _after(gate: Future[None] | None, save: Coroutine[Any, Any, T]) -> T:
    if gate is not None:
        await asyncio.wrap_future(gate)
    return await save


async def _wait(futures: list[Future[Any]]) -> None:
    if futures:
        await asyncio.gather(*(asyncio.wrap_future(f) for f in futures), return_exceptions=True)


def _drain_at_exit() -> None:
    if not any(len(saves) for saves in list(_ALL)):
        return
    loop = get_runtime().home_loop
    if loop is None or not loop.is_running():  # an adopted loop that has ended: nothing runs
        return
    for saves in list(_ALL):
        try:
            saves.drain()
        except Exception as exc:  # never fail the interpreter's exit
            _log.error("memory saves not finished at exit: %s", exc)


# At interpreter exit, before thread pools refuse new work (which a save's I/O needs) and
# before the runtime closes its home loop: CPython runs these hooks, last registered first,
# ahead of ``atexit``'s (concurrent.futures uses the same hook).
threading._register_atexit(_drain_at_exit)  # type: ignore[attr-defined]
