"""The supervisor's answers to what its workers' lives bring: up, failed to start, stats,
budget messages, quota, an unreachable provider, hung, exited. A mixin of
:class:`~fastcrew.batch.supervisor.supervisor.Supervisor`, which owns the state named below."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ...errors import LLMConfigurationError
from ..config import BatchConfig
from ..wire.messages import Limited
from .budget import GlobalBudgets
from .counters import Counters
from .dispatcher import Dispatcher
from .events import (
    BudgetMessage,
    ProviderUnavailable,
    QuotaExhausted,
    WorkerExited,
    WorkerFailedToStart,
    WorkerHung,
    WorkerStats,
    WorkerUp,
    death_message,
)
from .pool import WorkerPool
from .provider import ProviderWatch

__all__ = ["WorkerLifecycle"]


class WorkerLifecycle:
    """Worker-life event handlers (see the module docstring)."""

    config: BatchConfig
    counters: Counters
    budgets: GlobalBudgets | None
    pool: WorkerPool
    dispatcher: Dispatcher
    provider: ProviderWatch
    log: Callable[[str], None]
    _up: bool
    _fatal: str | None
    _fatal_llm: bool
    _never_up: set[int]
    _startup: asyncio.Event
    _finished: asyncio.Event

    def _stop(self, reason: str, message: str | None = None, drain: float | None = None) -> None:
        raise NotImplementedError

    def _pump(self) -> None:
        raise NotImplementedError

    def _on_budget(self, event: BudgetMessage) -> None:
        assert self.budgets is not None
        self.budgets.handle(event.slot, event.message)

    def _on_stats(self, event: WorkerStats) -> None:
        self.counters.worker_stats[event.slot] = event.stats
        if event.stats.get("calls"):
            self.provider.success()

    def _on_up(self, event: WorkerUp) -> None:
        self._never_up.discard(event.slot)
        if event.startup is not None:
            self.counters.startup.setdefault(event.slot, event.startup)
        budgets = self.budgets
        assert budgets is not None
        budgets.add_worker(event.slot)
        self.provider.joined(event.slot)
        for key, state in budgets.keys.items():
            if state.limited:
                self.pool.send(event.slot, Limited(key, state.split))
        self._up = True
        self._startup.set()

    def _on_fatal(self, event: WorkerFailedToStart) -> None:
        text = f"{event.error}: {event.message}"
        if not self._up:
            if self._fatal is None:
                self._fatal = text
                self._fatal_llm = event.error == LLMConfigurationError.__name__
            self._startup.set()
        else:
            self._never_up.add(event.slot)
            self.log(f"worker {event.slot} failed to start: {text}")

    def _on_quota(self, event: QuotaExhausted) -> None:
        self._stop("quota_exhausted", event.message)

    def _on_unavailable(self, event: ProviderUnavailable) -> None:
        verdict = self.provider.verdict(event)
        if verdict is not None:
            self._stop(*verdict)
        else:
            self.log(f"worker {event.slot}: {event.message}; the row runs again")

    def _on_hung(self, event: WorkerHung) -> None:
        self.log(
            f"worker {event.slot} (pid {event.pid}) did not answer for "
            f"{event.silent_s:.0f} s; killing it"
        )

    def _on_exit(self, event: WorkerExited) -> None:
        assert self.budgets is not None
        self.budgets.remove_worker(event.slot)
        self.counters.worker_gone(event.slot)
        if not self._up:
            self._fatal = self._fatal or f"worker {event.slot} exited ({event.exit_code})"
            self._startup.set()
            return
        lost = self.dispatcher.lost(event.slot)
        if self._finished.is_set() or not event.unexpected:
            return
        if event.slot in self._never_up:  # a failed start, not a death: it ran no row
            self._never_up.discard(event.slot)
            if event.gave_up and not self.budgets.workers:
                self._stop("workers_failed", f"worker {event.slot} failed to start; none is left")
            elif event.gave_up:
                self.log(f"going on without worker {event.slot} (--max-restarts spent)")
            self._pump()
            return
        self.counters.worker_deaths += 1
        message = death_message(event, lost.rows, lost.repaid, self.config.max_restarts)
        if event.gave_up:
            self._stop("workers_failed", message)
        else:
            self.log(message)
        self._pump()
