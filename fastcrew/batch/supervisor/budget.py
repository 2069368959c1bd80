"""The supervisor's side of the lease protocol (:mod:`~fastcrew.batch.wire.lease`): the global
buckets, one :class:`~fastcrew.limits.LocalBudget` per budget key (endpoint + key hash) with
the run's ``--rpm/--tpm`` (or the LLM's own ``RateLimit``), and a FIFO of workers' wants per key.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable

from ...limits import LocalBudget, RateLimit, RateLimitSnapshot
from ...limits.config import Limit
from ...process_runtime import CapSpec
from ..wire.lease import BudgetId, LimitTuple
from ..wire.messages import Give, Grant, Limited, Observe, Pause, Want

__all__ = ["GlobalBudgets"]


class _Key:
    __slots__ = ("budget", "granted_requests", "granted_tokens", "limited", "timer", "wants")

    def __init__(self, budget: LocalBudget) -> None:
        self.budget = budget
        self.wants: deque[tuple[int, int, int, int, int]] = deque()
        """(worker, budget id, tokens, more, each) in arrival order."""
        self.timer: asyncio.TimerHandle | None = None
        self.limited = budget.requests is not None or budget.tokens is not None
        self.granted_requests = 0
        self.granted_tokens = 0


class GlobalBudgets:
    """The supervisor's buckets, one per budget key, leased to workers in FIFO order.

    ``rpm`` / ``tpm`` (when not None) replace the limits the workers' LLMs were configured
    with; ``send(worker, message)`` delivers to one worker; ``loop`` schedules refill timers
    and gives the clock.
    """

    def __init__(
        self,
        send: Callable[[int, Grant | Pause | Limited], None],
        loop: asyncio.AbstractEventLoop,
        *,
        rpm: int | None = None,
        tpm: int | None = None,
    ) -> None:
        self._send = send
        self._loop = loop
        self.rpm = rpm
        self.tpm = tpm
        self.keys: dict[BudgetId, _Key] = {}
        self.workers: set[int] = set()
        self.pauses = 0

    def limit_for(self, rpm: Limit, tpm: Limit, burst: float, key: BudgetId = "") -> RateLimit:
        """The global limit of a key whose LLMs ask for ``(rpm, tpm, burst)``; a ``max_rpm``
        cap keeps its own (``--rpm`` / ``--tpm`` are the endpoint's limits, not the cap's)."""
        if isinstance(key, CapSpec):
            return RateLimit(rpm=rpm, tpm=tpm, burst=burst)
        return RateLimit(
            rpm=self.rpm if self.rpm is not None else rpm,
            tpm=self.tpm if self.tpm is not None else tpm,
            burst=burst,
        )

    def _key(self, key: BudgetId, limit: LimitTuple | None) -> _Key:
        found = self.keys.get(key)
        if found is None:
            rpm, tpm, burst = limit if limit is not None else ("auto", "auto", 1.0)
            budget = LocalBudget(self.limit_for(rpm, tpm, burst, key), self._loop.time())
            found = self.keys[key] = _Key(budget)
        return found

    def add_worker(self, worker: int) -> None:
        """A worker joined."""
        self.workers.add(worker)

    def remove_worker(self, worker: int) -> None:
        """A worker is gone: drop its requests (its unused slice is lost with it)."""
        self.workers.discard(worker)
        for state in self.keys.values():
            if any(want[0] == worker for want in state.wants):
                state.wants = deque(x for x in state.wants if x[0] != worker)

    def handle(self, worker: int, message: Want | Give | Pause | Observe) -> None:
        """One budget message from ``worker``."""
        now = self._loop.time()
        match message:
            case Want(budget_id, key, tokens, limit, more, each):
                state = self._key(key, limit)
                state.wants.append((worker, budget_id, tokens, more, each))
                if len(state.wants) == 1:
                    self._pump(key)
            case Give(key, requests, tokens):
                state = self._key(key, None)
                state.budget.adjust(requests, tokens, now)
                self._pump(key)
            case Pause(key, what, seconds):
                state = self._key(key, None)
                self.pauses += 1
                state.budget.pause(what, now + seconds, now)
                for other in self.workers:
                    if other != worker:
                        self._send(other, message)
                self._pump(key)
            case Observe(key, fields):
                state = self._key(key, None)
                state.budget.observe(RateLimitSnapshot(*fields), now)
                limited = state.budget.requests is not None or state.budget.tokens is not None
                if limited and not state.limited:
                    state.limited = True
                    for other in self.workers:
                        self._send(other, Limited(key))
                self._pump(key)
            case _:  # pragma: no cover - a programming error
                raise ValueError(f"unknown budget message {message!r}")

    def _pump(self, key: BudgetId) -> None:
        state = self.keys[key]
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
        wants = state.wants
        budget = state.budget
        now = self._loop.time()
        while wants:
            worker, budget_id, tokens, more, each = wants[0]
            if worker not in self.workers:
                wants.popleft()
                continue
            wait = budget.wait_time(tokens, now)
            if wait > 0.0:
                if wait != math.inf:
                    state.timer = self._loop.call_at(now + wait, self._pump, key)
                return
            wants.popleft()
            budget.take(tokens, now)
            requests = 1
            # A hot worker's extra requests: only what is there now, and nobody else waits.
            while requests <= more and not wants and budget.wait_time(each, now) == 0.0:
                budget.take(each, now)
                requests += 1
                tokens += each
            state.granted_requests += requests
            state.granted_tokens += tokens
            self._send(worker, Grant(budget_id, key, requests, tokens))

    def close(self) -> None:
        """Cancel the refill timers."""
        for state in self.keys.values():
            if state.timer is not None:
                state.timer.cancel()
                state.timer = None
