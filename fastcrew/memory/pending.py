"""Background saves (CrewAI's ``remember_many``): each runs on the process runtime's home
loop, so it outlives the caller's own loop; :meth:`PendingSaves.adrain` waits for those
started so far, and every memory's saves are waited for when the process exits, as CrewAI's
save pool is. A failed save is logged (CrewAI emits an event), never raised at the caller."""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any

from ..process_runtime import get_runtime

__all__ = ["PendingSaves"]

_log = logging.getLogger(__name__)
_ALL: weakref.WeakSet[PendingSaves] = weakref.WeakSet()


class PendingSaves:
    """The background saves of one memory that have not finished yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: set[Future[Any]] = set()

    def __len__(self) -> int:
        return len(self._futures)

    def submit(self, save: Coroutine[Any, Any, Any]) -> None:
        """Start ``save`` in the background."""
        future = get_runtime().submit(save)
        with self._lock:
            self._futures.add(future)
        _ALL.add(self)
        future.add_done_callback(self._done)

    def _done(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.discard(future)
        if not future.cancelled() and (exc := future.exception()) is not None:
            _log.error("background memory save failed: %s", exc)

    async def adrain(self) -> None:
        """Wait for every save started so far (their failures are logged, not raised)."""
        with self._lock:
            pending = list(self._futures)
        if pending:
            await asyncio.gather(*(asyncio.wrap_future(f) for f in pending), return_exceptions=True)

    def drain(self) -> None:
        """:meth:`adrain` from synchronous code (any thread but the home loop's)."""
        with self._lock:
            pending = list(self._futures)
        for future in pending:
            if not future.cancelled():
                future.exception()  # waits; the failure is logged by _done


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
