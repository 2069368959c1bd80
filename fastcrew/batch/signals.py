"""SIGINT/SIGTERM for a whole batch run: counted and handed to the supervisor, never a
``KeyboardInterrupt``.

Installed for the whole of ``run_batch`` (reading the plan, starting the simulator, the run,
shutting the workers down, the summary), so a Ctrl-C at any moment — the first, the second,
the tenth — ends in the documented way (status ``interrupted``, exit code 75, resumable)
instead of a traceback and exit code 1 half-way through. While the supervisor's loop runs,
each signal is passed to it (:meth:`StopSignals.attached`); signals that arrive before are
kept and passed on when it starts. Only the main thread can install handlers; elsewhere
this does nothing.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType, TracebackType
from typing import Any

__all__ = ["StopSignals"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """A context manager owning SIGINT and SIGTERM while it is entered."""

    def __init__(self) -> None:
        self.count = 0
        """Signals received while entered."""
        self._pending: list[int] = []
        self._target: tuple[asyncio.AbstractEventLoop, Callable[[int], None]] | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        et: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        target = self._target
        if target is None:
            self._pending.append(signum)
        else:
            target[0].call_soon_threadsafe(target[1], signum)

    @contextmanager
    def attached(
        self, loop: asyncio.AbstractEventLoop, handler: Callable[[int], None]
    ) -> Iterator[None]:
        """Pass signals to ``handler`` on ``loop`` (the ones already received first)."""
        self._target = (loop, handler)
        for signum in self._pending:
            loop.call_soon(handler, signum)
        self._pending.clear()
        try:
            yield
        finally:
            self._target = None
