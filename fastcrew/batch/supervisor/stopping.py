"""How a batch run stops: the signals (the first drains, the second stops at once), the
reasons a run stops early (``--max-cost``, ``--strict``, quota, a storage error, ...), the
drain deadline, and when the run is done. A mixin of
:class:`~fastcrew.batch.supervisor.supervisor.Supervisor`, which owns the state named below."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from ..._json import loads
from ...errors import StorageError
from ..config import BatchConfig
from ..spending import money
from ..storage.inputs import LineReader
from ..storage.output import OrderedOutput
from .dispatcher import Dispatcher
from .drain import drain_seconds
from .pool import WorkerPool
from .spend import Spend

__all__ = ["RunStopping"]


class RunStopping:
    """Stop and finish handling (see the module docstring)."""

    config: BatchConfig
    reader: LineReader
    output: OrderedOutput
    pool: WorkerPool
    dispatcher: Dispatcher
    spend: Spend
    log: Callable[[str], None]
    stop_reason: str | None
    stop_message: str | None
    signals_seen: int
    _group: asyncio.TaskGroup | None
    _services: list[asyncio.Task[None]]
    _finished: asyncio.Event
    _startup: asyncio.Event
    _signal_queue: asyncio.Queue[int]

    # -- signals -----------------------------------------------------------------------

    async def _signal_loop(self) -> None:
        """Handle each SIGINT/SIGTERM as it arrives (a service of the run's task group)."""
        while True:
            self._on_signal(await self._signal_queue.get())

    def _on_signal(self, sig: int) -> None:
        self.signals_seen += 1
        name = signal.Signals(sig).name
        if self._finished.is_set():  # the rows are settled; only the workers' exit is left
            self.pool.kill_all()
        elif self.signals_seen == 1:
            drain = drain_seconds(self.config, sig)
            self.log(
                f"{name}: finishing the rows in flight (at most {drain:g} s), then stopping "
                "(again to stop at once; the run stays resumable)"
            )
            self._stop("interrupted", drain=drain)
        else:
            self.log(f"{name} again: stopping now (the run stays resumable)")
            self._hard_stop()

    # -- stopping ----------------------------------------------------------------------

    def _stop(self, reason: str, message: str | None = None, drain: float | None = None) -> None:
        """Stop for ``reason`` (the first reason wins): no new row starts, the rows in
        flight finish within ``drain`` seconds (default: the run's drain bound)."""
        if self.stop_reason is not None:
            return
        self.stop_reason = reason
        self.stop_message = message
        if message:
            self.log(message)
        self.dispatcher.stop()
        self.pool.stop_replacing()
        self.pool.drain()
        if drain is None:
            drain = drain_seconds(self.config)
        if self._group is not None and not self._finished.is_set():
            self._services.append(self._group.create_task(self._drain_deadline(drain)))
        self._check_done()

    async def _drain_deadline(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.log("rows still running after the drain timeout: stopping now")
        self._hard_stop()

    def _hard_stop(self) -> None:
        """Stop at once: the workers are killed, their rows run again on resume."""
        if self.stop_reason is None:
            self.stop_reason = "interrupted"
        self.dispatcher.stop()
        self.pool.kill_all()
        self._finish()

    def _storage_stop(self, exc: StorageError) -> None:
        """A file of the run cannot be written: the workers are gone already (the task
        group's error stopped the pool); say which file and why."""
        self.stop_reason = "storage_error"
        self.stop_message = f"{exc}; stopped (resumable once the cause is fixed)"
        self.log(self.stop_message)
        self._finish()

    def _finish(self) -> None:
        self._finished.set()
        self._startup.set()

    def _budget_stop(self) -> None:
        """``--max-cost``: start no new row; the rows in flight finish."""
        spend = self.spend
        assert spend.cap is not None
        self._stop(
            "budget_exhausted",
            f"--max-cost: spent {money(spend.spent)} of the {money(spend.cap)} cap; no new "
            "row starts, the rows in flight finish",
        )

    def _strict_stop(self, line: int, row: bytes) -> None:
        """``--strict``: stop at the bad input ``line`` (its error row is ``row``)."""
        try:
            error = loads(row).get("error") or {}
            detail = f"{error.get('type') or error.get('code')}: {error.get('message')}"
        except ValueError:
            detail = "bad input"
        self._stop("bad_input", f"line {line}: {detail}")

    def _check_done(self) -> None:
        """Finish once a stopped run has no row in flight, or every row is written."""
        if self._finished.is_set():
            return
        dispatcher = self.dispatcher
        if self.stop_reason is not None:
            if dispatcher.in_flight() == 0:
                self.output.flush()
                self._finish()
            return
        if dispatcher.drained:
            self.output.flush()
            if self.output.next >= self.reader.index:
                self.output.check()  # complete only if the files are still there
                self._finish()
