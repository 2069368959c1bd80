"""The supervisor: one task group owning a run — input, dispatch, the pool, the output.

It wires the parts, each testable on its own:

- :class:`~fastcrew.batch.supervisor.dispatcher.Dispatcher` — chunks within the reorder window, rows
  re-queued from a dead worker, re-paid rows counted (pure);
- :class:`~fastcrew.batch.storage.output.OrderedOutput` — the journal, then the output in
  order; a write failure is a :class:`~fastcrew.errors.StorageError` (no processes);
- a :class:`~fastcrew.batch.supervisor.pool.WorkerPool` — the workers (local processes by default),
  reporting typed events (:mod:`~fastcrew.batch.supervisor.events`) to :meth:`Supervisor._on_event`;
- :class:`~fastcrew.batch.supervisor.budget.GlobalBudgets` — the run's RPM/TPM, leased to workers.

Every task of the run (the pool and its workers, the input reader, the progress ticker, a
drain deadline) is a child of one ``asyncio.TaskGroup``: an error in any of them stops the
run instead of being left in an orphaned task. A storage error stops it cleanly (workers
stopped, status ``storage_error``, resumable); any other error propagates. Signals come from
:class:`~fastcrew.batch.signals.StopSignals`: the first drains (bounded), the second stops at
once; both leave a resumable journal. Two mixins hold the rest:
:mod:`~fastcrew.batch.supervisor.lifecycle` (what workers' lives bring) and
:mod:`~fastcrew.batch.supervisor.stopping` (signals, stops, the drain, when the run is done).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..._failures import leaves
from ...errors import ConfigurationError, InputReadError, LLMConfigurationError, StorageError
from ..config import BatchConfig
from ..rows import BAD, OK, oversize_row
from ..signals import StopSignals
from ..storage.inputs import LineReader, RawRow
from ..storage.journal import Journal, JournalState
from ..storage.ordered_writer import OrderedWriter
from ..storage.output import OrderedOutput
from .budget import GlobalBudgets
from .counters import Counters
from .dispatcher import Dispatcher
from .events import (
    BudgetMessage,
    ProviderUnavailable,
    QuotaExhausted,
    RoomFor,
    RowsFinished,
    RowsReturned,
    RowsStarted,
    WorkerEvent,
    WorkerExited,
    WorkerFailedToStart,
    WorkerHung,
    WorkerStats,
    WorkerUp,
)
from .feed import InputFeed
from .lifecycle import WorkerLifecycle
from .pool import STARTUP_TIMEOUT_S, WorkerPool
from .provider import ProviderWatch, endpoint_down
from .spend import Spend
from .stopping import RunStopping

if TYPE_CHECKING:
    from .batchapi.side import DeferredCalls

__all__ = ["Counters", "Supervisor"]


class Supervisor(RunStopping, WorkerLifecycle):  # RunStopping first: its _stop wins
    """Runs one batch over the plan's reader, writer and journal, with ``pool`` running the
    rows and ``signals`` (owned by the caller for the whole call) reporting SIGINT/SIGTERM."""

    def __init__(
        self,
        config: BatchConfig,
        *,
        pool: WorkerPool,
        signals: StopSignals,
        reader: LineReader,
        writer: OrderedWriter,
        journal: Journal,
        skip: Callable[[int], bool],
        attempts: Callable[[int], int],
        verify: JournalState | None = None,
        on_tick: Callable[[Supervisor], None] | None = None,
        log: Callable[[str], None] = lambda _: None,
        output_path: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self.config = config
        self.reader = reader
        self.writer = writer
        self.journal = journal
        self.verify = verify
        self.on_tick = on_tick
        self.log = log
        self.signals = signals
        self.feed = InputFeed(reader, config.inputs, verify)
        self.output = OrderedOutput(journal, writer, output_path or config.output)
        self.pool = pool
        self.spend = Spend(config.max_cost, max(config.workers, 1) * config.concurrency)
        self.dispatcher = Dispatcher(
            chunk_size=config.chunk_size,
            window=config.reorder_window,
            head=self.output,
            skip=skip,
            attempts=attempts,
            on_oversize=self._oversize,
            admit=self.spend.admit if config.max_cost is not None else None,
        )
        self.counters = Counters()
        self.stop_reason: str | None = None
        self.stop_message: str | None = None
        self.signals_seen = 0
        self.budgets: GlobalBudgets | None = None
        self.provider = ProviderWatch(pool.send, lambda: range(pool.size))
        self._group: asyncio.TaskGroup | None = None
        self._services: list[asyncio.Task[None]] = []
        self._finished = asyncio.Event()
        self._startup = asyncio.Event()
        self._need_input = asyncio.Event()
        self._signal_queue: asyncio.Queue[int] = asyncio.Queue()
        self._up = False
        self._fatal: str | None = None
        self._fatal_llm = False
        """The fatal error was an :class:`LLMConfigurationError` (no LLM configured)."""
        self._never_up: set[int] = set()
        """Slots whose worker failed to start after the run was up (not deaths)."""
        self._handlers: dict[type, Callable[[Any], None]] = {
            RowsFinished: self._on_done,
            RoomFor: self._on_room,
            RowsStarted: self._on_started,
            BudgetMessage: self._on_budget,
            WorkerStats: self._on_stats,
            RowsReturned: self._on_returned,
            WorkerUp: self._on_up,
            WorkerFailedToStart: self._on_fatal,
            QuotaExhausted: self._on_quota,
            ProviderUnavailable: self._on_unavailable,
            WorkerHung: self._on_hung,
            WorkerExited: self._on_exit,
        }
        self.deferred: DeferredCalls | None = None
        """``--via batch-api``: the rows' LLM calls, sent as Batch-API jobs to ``base_url``."""
        if config.via == "batch-api":
            from .batchapi.side import DeferredCalls  # loads aiohttp: only in this mode

            self.deferred = DeferredCalls(config, base_url, pool.send, self.dispatcher, pool.size)
            self.deferred.hook(self._handlers)

    @property
    def eof(self) -> bool:
        """Whether the whole input has been read."""
        return self.dispatcher.eof

    # -- the run -----------------------------------------------------------------------

    async def run(self) -> None:
        """Run until every row is finished, or a stop; raises ConfigurationError when the
        workers cannot start (no LLM configured, the crew does not load). A storage error
        ends the run with ``stop_reason == "storage_error"`` (not raised)."""
        loop = asyncio.get_running_loop()
        config = self.config
        self.budgets = GlobalBudgets(
            self.pool.send,
            loop,
            rpm=config.rpm,
            tpm=config.tpm,
            itpm=config.itpm,
            otpm=config.otpm,
        )
        try:
            with self.signals.attached(loop, self._signal_queue.put_nowait):
                await self._run_group()
        except BaseExceptionGroup as group:
            found = list(leaves(group))
            storage = next((e for e in found if isinstance(e, StorageError)), None)
            if storage is None:
                if len(found) == 1:
                    raise found[0] from None
                raise
            self._storage_stop(storage)
        finally:
            self.budgets.close()
            if self.deferred is not None:
                self.deferred.close()

    async def _run_group(self) -> None:
        async with asyncio.TaskGroup() as group:
            self._group = group
            self._services.append(group.create_task(self._signal_loop()))
            await self._start_reading()
            await self._probe()
            if not self._finished.is_set():
                group.create_task(self.pool.run(self._on_event))
                self._services.append(group.create_task(self._read_loop()))
                if self.deferred is not None:
                    self._services.append(group.create_task(self.deferred.run()))
                await self._wait_for_a_worker()
                self._services.append(group.create_task(self._ticker()))
                self._pump()
                await self._finished.wait()
                await self.pool.close()
            for task in self._services:
                task.cancel()
        self._group = None

    async def _probe(self) -> None:
        """Stop before any row is dispatched if ``--base-url`` refuses connections."""
        down = None if self._finished.is_set() else await endpoint_down(self.config)
        if down is not None:
            self._stop("provider_unreachable", down)

    async def _wait_for_a_worker(self) -> None:
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT_S):
                await self._startup.wait()
        except TimeoutError:
            raise ConfigurationError("no worker started within two minutes") from None
        if self._fatal is not None:
            kind = LLMConfigurationError if self._fatal_llm else ConfigurationError
            raise kind(self._fatal)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.config.ping_interval)
            self.output.check()
            if self.on_tick is not None:
                self.on_tick(self)

    # -- input -------------------------------------------------------------------------

    async def _start_reading(self) -> None:
        self.dispatcher.add(await self.feed.first(), eof=self.reader.done)

    async def _read_loop(self) -> None:
        dispatcher = self.dispatcher
        while not dispatcher.eof and not dispatcher.stopped:
            await self._need_input.wait()
            self._need_input.clear()
            try:
                rows = await self.feed.read()
            except InputReadError as exc:  # the rows read so far finish; resumable
                self._stop("bad_input", str(exc))
                return
            dispatcher.add(rows, eof=self.reader.done)
            self._pump()

    # -- dispatch and results ------------------------------------------------------------

    def _on_event(self, event: WorkerEvent) -> None:
        self._handlers[type(event)](event)

    def _pump(self) -> None:
        dispatcher = self.dispatcher
        if not dispatcher.stopped:
            send = self.pool.send_rows
            for slot, chunk in dispatcher.dispatch():
                send(slot, chunk)
            if dispatcher.held and not dispatcher.in_flight():
                self._budget_stop()  # --max-cost: the next row would pass the cap
            if dispatcher.needs_input():
                self._need_input.set()
        self._check_done()

    def _on_room(self, event: RoomFor) -> None:
        self.dispatcher.offer(event.slot, event.rows)
        self._pump()

    def _on_started(self, event: RowsStarted) -> None:
        self.dispatcher.started(event.slot, event.indices)

    def _on_done(self, event: RowsFinished) -> None:
        finished = self.dispatcher.finished
        strict = self.config.strict
        counters = self.counters
        slot = event.slot
        rows: list[tuple[int, str, int, bytes]] = []
        for result in event.results:
            task = finished(slot, result.index)
            if task is None:
                continue
            if result.kind == BAD and strict:
                self._strict_stop(task.row.line, result.row)
                continue
            if result.kind == OK:
                counters.rows_ok += 1
                status = "ok"
            else:
                counters.rows_error += 1
                status = "error"
            counters.requests += result.requests
            counters.tokens += result.tokens
            self.spend.finished(slot, result.cost_usd, result.unpriced, result.kind == OK)
            rows.append((result.index, status, task.row.digest, result.row))
        self.output.record(rows)
        if self.spend.reached:
            self._budget_stop()
        if counters.requests:
            self.provider.success()
        self._pump()

    def _on_stats(self, event: WorkerStats) -> None:
        super()._on_stats(event)
        self.spend.process(event.slot, event.stats.get("cost_usd", 0.0))
        if self.spend.reached:
            self._budget_stop()

    def _on_exit(self, event: WorkerExited) -> None:
        self.spend.worker_gone(event.slot)
        super()._on_exit(event)

    def _on_returned(self, event: RowsReturned) -> None:
        self.dispatcher.returned(event.slot, event.indices)
        self._pump()

    def _oversize(self, row: RawRow) -> bool:
        line = oversize_row(row.index, row.line, row.size, self.config.max_line_bytes)
        if self.config.strict:
            self._strict_stop(row.line, line)
            return False
        self.output.record([(row.index, "error", row.digest, line)])
        self.counters.rows_error += 1
        return True

    def rows_in_flight(self) -> int:
        """Rows handed to workers and not back yet."""
        return self.dispatcher.in_flight()

    @property
    def complete(self) -> bool:
        """Whether every input row has its output line."""
        return (
            self.stop_reason is None
            and self.eof
            and not self.dispatcher.buffer
            and self.writer.next >= self.reader.index
        )
