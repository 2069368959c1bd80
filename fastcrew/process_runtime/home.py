"""The runtime's home loop: where sync callers' coroutines run.

By default a daemon thread runs one uvloop forever, started on the first sync call; a batch
worker instead adopts its own main loop (:meth:`HomeLoop.adopt`), so ``crew.kickoff()`` from
a sync flow method or a sync tool lands on the worker's loop and its budget.

A submitted coroutine runs in a copy of the *caller's* context (as ``asyncio.to_thread``
does the other way round), so context-local state such as the batch's usage meter follows it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

from .._loop import LoopKind, new_event_loop

__all__ = ["HomeLoop"]

T = TypeVar("T")

CANCEL_WAIT_S = 5.0
"""How long a sync caller interrupted by Ctrl-C waits for its run to finish cancelling."""


class HomeLoop:
    """One long-lived event loop that sync callers hand their coroutines to."""

    def __init__(self, kind: LoopKind = "uvloop") -> None:
        self._kind = kind
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The home loop, if started or adopted."""
        return self._loop

    def adopt(self, loop: asyncio.AbstractEventLoop) -> None:
        """Make an already running loop (a batch worker's) the home loop."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("the runtime's home loop is already running in a thread")
            self._loop = loop

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = new_event_loop(self._kind)
                ready = threading.Event()
                thread = threading.Thread(
                    target=self._serve, args=(loop, ready), name="fastcrew-home", daemon=True
                )
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the home loop and wait for it; Ctrl-C cancels it (and waits up to
        :data:`CANCEL_WAIT_S` for the cancellation to finish) before re-raising."""
        loop = self._ensure()
        call: _Call[T] = _Call(loop, coro)
        loop.call_soon_threadsafe(call.start)
        try:
            return call.future.result()
        except KeyboardInterrupt:
            call.cancel()
            call.finished.wait(CANCEL_WAIT_S)
            raise

    def close(self) -> None:
        """Stop the home thread's loop (not an adopted loop) and wait for it."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if thread is None or loop is None:
            return
        asyncio.run_coroutine_threadsafe(_shutdown(loop), loop).result(CANCEL_WAIT_S * 2)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CANCEL_WAIT_S)
        if not thread.is_alive():
            loop.close()


class _Call(Generic[T]):
    """One sync caller's coroutine on the home loop."""

    __slots__ = ("context", "coro", "finished", "future", "loop", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> None:
        self.loop = loop
        self.coro = coro
        self.context = contextvars.copy_context()
        self.future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self.finished = threading.Event()
        self.task: asyncio.Task[T] | None = None

    def start(self) -> None:
        if self.future.done():  # cancelled before it started
            self.coro.close()
            self.finished.set()
            return
        self.task = self.loop.create_task(self.coro, context=self.context)
        self.task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[T]) -> None:
        if not self.future.done():
            if task.cancelled():
                self.future.set_exception(asyncio.CancelledError())
            elif (exc := task.exception()) is not None:
                self.future.set_exception(exc)
            else:
                self.future.set_result(task.result())
        self.finished.set()

    def cancel(self) -> None:
        """From the caller's thread: stop the run."""
        if not self.future.done():
            self.future.set_exception(KeyboardInterrupt())
        try:
            self.loop.call_soon_threadsafe(self._cancel_task)
        except RuntimeError:  # the loop is closed
            self.finished.set()

    def _cancel_task(self) -> None:
        if self.task is not None:
            self.task.cancel()


async def _shutdown(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what still runs, then finalise async generators (closing HTTP sessions)."""
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks(loop) if t is not current]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=CANCEL_WAIT_S)
    await loop.shutdown_asyncgens()
