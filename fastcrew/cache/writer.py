"""Write-behind: one thread that writes queued operations in batches, one transaction each.

An event loop hands a write over in ~1 µs (a queue put) instead of waiting for SQLite's write
lock, which another process may hold; everything queued while a transaction runs goes into the
next one, so a burst of answers costs one commit, not one each.
"""

from __future__ import annotations

import atexit
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

__all__ = ["WriteBehind"]

Op = TypeVar("Op")

MAX_BATCH = 512
"""Operations per transaction at most (a long one holds every other process's writes)."""
LINGER_S = 0.005
"""How long the thread gathers more operations after the first before it writes (unless a
flush or a stop asks for it now): calls finishing one by one share a transaction, and the
thread wakes ~200 times a second at most instead of once per answer."""


class _Stop:
    pass


class WriteBehind(Generic[Op]):
    """Queues operations for ``write(batch)``, called on a daemon thread (started on first use)
    with everything queued so far; :meth:`flush` waits for what was queued before it. A failed
    batch's error is raised by the next flush; the thread goes on with later batches."""

    def __init__(self, write: Callable[[list[Op]], None], name: str) -> None:
        self._write = write
        self._name = name
        self._queue: queue.SimpleQueue[Op | Future[None] | _Stop] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.failed = 0
        """Operations lost to failed batches."""

    def submit(self, op: Op) -> None:
        """Queue ``op`` (returns at once)."""
        if self._thread is None:
            self._start()
        self._queue.put(op)

    def flush(self) -> Future[None]:
        """A future done when everything queued before it is written (or failed: then it
        holds the error)."""
        done: Future[None] = Future()
        if self._thread is None:
            error, self._error = self._error, None
            done.set_exception(error) if error else done.set_result(None)
            return done
        self._queue.put(done)
        return done

    def stop(self) -> None:
        """Write what is queued, then end the thread (a later submit starts a new one)."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            atexit.unregister(self.stop)
            self._queue.put(_Stop())
        thread.join()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            thread.start()
            self._thread = thread
            atexit.register(self.stop)  # what is queued reaches the file at exit

    def _run(self) -> None:
        while True:
            batch: list[Op] = []
            waiters: list[Future[None]] = []
            stop = False
            item = self._queue.get()
            deadline = time.monotonic() + LINGER_S
            while True:
                if isinstance(item, _Stop):
                    stop = True
                elif isinstance(item, Future):
                    waiters.append(item)
                else:
                    batch.append(item)
                if stop or len(batch) >= MAX_BATCH:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    left = deadline - time.monotonic()
                    if waiters or left <= 0.0:
                        break
                    try:
                        item = self._queue.get(timeout=left)
                    except queue.Empty:
                        break
            if batch:
                try:
                    self._write(batch)
                except BaseException as exc:
                    self._error = exc
                    self.failed += len(batch)
            if waiters:
                error, self._error = self._error, None
                for waiter in waiters:
                    waiter.set_exception(error) if error else waiter.set_result(None)
            if stop:
                return
