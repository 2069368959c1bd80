"""The worker's side of the lease protocol (:mod:`~fastcrew.batch.wire.lease`):
:class:`LeasedBudget`, the budget source every limiter in the worker gets, made by
:class:`WorkerBudgets`, the budget provider the worker injects into its
:class:`~fastcrew.process_runtime.Runtime`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
from collections.abc import Callable
from typing import Any

from ...limits import RateLimit, RateLimitSnapshot
from ...process_runtime import CapSpec
from ..wire.lease import (
    IDLE_RETURN_S,
    MAX_BATCH,
    OBSERVE_EVERY_S,
    BudgetId,
    LimitTuple,
    Send,
    is_limited,
)
from ..wire.messages import Give, Grant, Limited, Observe, Pause, Want

__all__ = ["LeasedBudget", "WorkerBudgets"]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class WorkerBudgets:
    """A worker's end of the lease protocol: the
    :class:`~fastcrew.process_runtime.BudgetProvider` the worker injects into its runtime.
    Makes :class:`LeasedBudget` s and routes the supervisor's budget messages to them.

    Made on the worker's main loop, which owns the channel (and is the runtime's home loop,
    so sync ``crew.kickoff()`` calls land there). A budget may still live on another loop — a
    sync method that runs ``asyncio.run(crew.akickoff())`` itself — so messages cross loops
    with ``call_soon_threadsafe``, and budgets of closed loops are dropped (their slice given
    back).
    """

    caps_by_spec = True

    def __init__(self, send: Send, *, rpm: int | None = None, tpm: int | None = None) -> None:
        self._send = send
        self._loop = asyncio.get_running_loop()
        self.rpm = rpm
        self.tpm = tpm
        self._ids = itertools.count(1)
        self.budgets: dict[int, LeasedBudget] = {}
        self.limited_keys: set[BudgetId] = set()

    def source(self, key: str, limit: RateLimit, now: float, explicit: bool) -> LeasedBudget:
        """An endpoint budget: ``--rpm`` / ``--tpm`` replace the LLM's own limits."""
        rpm = self.rpm if self.rpm is not None else limit.rpm
        tpm = self.tpm if self.tpm is not None else limit.tpm
        # --rpm / --tpm replace the amounts; the LLM's charging model and burst stay.
        return self._new(key, dataclasses.replace(limit, rpm=rpm, tpm=tpm))

    def cap(self, spec: CapSpec, now: float) -> LeasedBudget:
        """A ``max_rpm`` cap: keeps its own limit, shared by every worker with the same spec."""
        return self._new(spec, spec.limit)

    def _new(self, key: BudgetId, effective: RateLimit) -> LeasedBudget:
        self._drop_closed()
        budget = LeasedBudget(self, next(self._ids), key, effective)
        self.budgets[budget.id] = budget
        return budget

    def send(self, message: Want | Give | Pause | Observe) -> None:
        """To the supervisor (from any loop or thread)."""
        if _running_loop() is self._loop:
            self._send(message)
        else:
            self._loop.call_soon_threadsafe(self._send, message)

    def _deliver(self, budget: LeasedBudget, method: Callable[..., None], *args: Any) -> bool:
        """Run ``method(*args)`` on the budget's loop; False when that loop is gone."""
        if budget.loop is self._loop:
            method(*args)
            return True
        try:
            budget.loop.call_soon_threadsafe(method, *args)
        except RuntimeError:  # the loop closed
            self._drop(budget)
            return False
        return True

    def _drop(self, budget: LeasedBudget) -> None:
        if self.budgets.pop(budget.id, None) is not None:
            budget.release()

    def _drop_closed(self) -> None:
        for budget in [b for b in self.budgets.values() if b.loop.is_closed()]:
            self._drop(budget)

    def handle(self, message: Grant | Pause | Limited) -> None:
        """One budget message from the supervisor."""
        match message:
            case Grant(budget_id, key, requests, tokens):
                budget = self.budgets.get(budget_id)
                if budget is None or not self._deliver(budget, budget.granted, requests, tokens):
                    self._send(Give(key, requests, tokens))
            case Pause(key, _what, seconds):
                for budget in [b for b in self.budgets.values() if b.key == key]:
                    self._deliver(budget, budget.paused_for, seconds)
            case Limited(key):
                self.limited_keys.add(key)
                for budget in [b for b in self.budgets.values() if b.key == key]:
                    budget.limited = True
                    self._deliver(budget, budget.wake)

    def release_all(self) -> None:
        """Give every unused slice back (the worker is going idle or away)."""
        for budget in self.budgets.values():
            budget.release()


class LeasedBudget:
    """A budget source holding a small slice of the supervisor's global budget."""

    def __init__(
        self, owner: WorkerBudgets, budget_id: int, key: BudgetId, limit: RateLimit
    ) -> None:
        self._owner = owner
        self.loop = asyncio.get_running_loop()
        self.id = budget_id
        self.key = key
        self.limit = limit
        self._limit_tuple: LimitTuple = (limit.rpm, limit.tpm, limit.burst)
        self.limited = is_limited(limit) or key in owner.limited_keys
        self.requests = 0
        self.tokens = 0
        self.pending = False
        self.paused_until = -math.inf
        self.keep_tokens = 0
        """Tokens this budget keeps rather than gives back (refunds, a batch's share)."""
        self._keep_refunds = 0
        self.batch = 1
        """Requests the next ``want`` asks for: doubles while grants come back full and
        quickly used, back to what a grant could hold when the global buckets run short."""
        self._each = 0
        self._granted_at = -math.inf
        self._wake: Callable[[], None] | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._observed_at = -math.inf
        self._observed_limits: tuple[int | None, int | None] = (None, None)

    # BudgetSource protocol ------------------------------------------------------------

    def set_waker(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def wait_time(self, tokens: int, now: float) -> float:
        if now < self.paused_until:
            return self.paused_until - now
        if not self.limited:
            return 0.0
        if self.requests >= 1 and self.tokens >= tokens:
            return 0.0
        if not self.pending:
            self.pending = True
            hot = now - self._granted_at < IDLE_RETURN_S
            self.batch = min(self.batch * 2, MAX_BATCH) if hot else 1
            need = max(0, tokens - self.tokens)
            self._keep_refunds = max(self._keep_refunds, need * 2)
            self._each = tokens
            self.keep_tokens = max(self._keep_refunds, self.batch * tokens)
            want = Want(self.id, self.key, need, self._limit_tuple, self.batch - 1, tokens)
            self._owner.send(want)
        return math.inf

    def take(self, tokens: int, now: float) -> None:
        if not self.limited:
            return
        self.requests -= 1
        self.tokens -= tokens
        self._settle_slice()

    def adjust(self, requests: int, tokens: int, now: float) -> None:
        if not self.limited:
            return
        self.requests += requests
        self.tokens += tokens
        self._settle_slice()

    def pause(self, kind: Any, until: float, now: float) -> None:
        seconds = until - now
        if until > self.paused_until:
            self.paused_until = until
        self._owner.send(Pause(self.key, kind, seconds))

    def observe(self, snapshot: RateLimitSnapshot, now: float) -> None:
        limits = (snapshot.limit_requests, snapshot.limit_tokens)
        if limits == self._observed_limits and now - self._observed_at < OBSERVE_EVERY_S:
            return
        self._observed_at = now
        self._observed_limits = limits
        fields = (
            snapshot.limit_requests,
            snapshot.limit_tokens,
            snapshot.remaining_requests,
            snapshot.remaining_tokens,
            snapshot.reset_requests,
            snapshot.reset_tokens,
        )
        self._owner.send(Observe(self.key, fields))

    # lease plumbing -------------------------------------------------------------------

    def wake(self) -> None:
        """Tell the limiter that capacity arrived."""
        if self._wake is not None:
            self._wake()

    def granted(self, requests: int, tokens: int) -> None:
        """The supervisor granted ``requests`` and ``tokens``."""
        self.pending = False
        self._granted_at = self.loop.time()
        if requests < self.batch:  # the global buckets are short: no batch to keep
            self.batch = requests
            self.keep_tokens = max(self._keep_refunds, requests * self._each)
        self.requests += requests
        self.tokens += tokens
        self._arm_idle()
        self.wake()

    def paused_for(self, seconds: float) -> None:
        """Another worker saw a 429: admit nothing for ``seconds``."""
        until = asyncio.get_running_loop().time() + seconds
        if until > self.paused_until:
            self.paused_until = until
        self.wake()

    def _settle_slice(self) -> None:
        give_requests = give_tokens = 0
        if self.tokens < 0:  # a debt: charge the global budget now
            give_tokens = self.tokens
            self.tokens = 0
        elif self.tokens > self.keep_tokens:
            give_tokens = self.tokens - self.keep_tokens
            self.tokens = self.keep_tokens
        if self.requests > self.batch:
            give_requests = self.requests - self.batch
            self.requests = self.batch
        if give_requests or give_tokens:
            self._owner.send(Give(self.key, give_requests, give_tokens))
        self._arm_idle()

    def _arm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        if self.requests > 0 or self.tokens > 0:
            loop = asyncio.get_running_loop()
            self._idle = loop.call_later(IDLE_RETURN_S, self._idle_return)
        else:
            self._idle = None

    def _idle_return(self) -> None:
        self._idle = None
        if self.pending:
            return
        self.batch = 1
        self.keep_tokens = self._keep_refunds
        self.release()

    def release(self) -> None:
        """Give the whole unused slice back."""
        if self.requests > 0 or self.tokens > 0:
            self._owner.send(Give(self.key, max(0, self.requests), max(0, self.tokens)))
            self.requests = min(0, self.requests)
            self.tokens = min(0, self.tokens)
