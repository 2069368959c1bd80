"""The worker's side of the lease protocol (:mod:`~fastcrew.batch.wire.lease`):
:class:`LeasedBudget`, the budget source every limiter in the worker gets, made by
:class:`WorkerBudgets`, the budget provider the worker injects into its
:class:`~fastcrew.process_runtime.Runtime`.
"""

from __future__ import annotations

import asyncio
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
    Overrides,
    Send,
    is_limited,
    is_split,
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

    def __init__(
        self,
        send: Send,
        *,
        rpm: int | None = None,
        tpm: int | None = None,
        itpm: int | None = None,
        otpm: int | None = None,
    ) -> None:
        self._send = send
        self._loop = asyncio.get_running_loop()
        self.overrides = Overrides(rpm, tpm, itpm, otpm)
        self._ids = itertools.count(1)
        self.budgets: dict[int, LeasedBudget] = {}
        self.limited_keys: dict[BudgetId, bool] = {}
        """Keys learned to be limited, and whether each is split (input/output budgets)."""

    def source(self, key: str, limit: RateLimit, now: float, explicit: bool) -> LeasedBudget:
        """An endpoint budget: ``--rpm`` / ``--tpm`` / ``--itpm`` / ``--otpm`` replace the
        LLM's own limits (its charging model and burst stay)."""
        return self._new(key, self.overrides.apply(limit))

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
            case Grant(budget_id, key, requests, tokens, output):
                budget = self.budgets.get(budget_id)
                if budget is None or not self._deliver(
                    budget, budget.granted, requests, tokens, output
                ):
                    self._send(Give(key, requests, tokens, output))
            case Pause(key, _what, seconds):
                for budget in [b for b in self.budgets.values() if b.key == key]:
                    self._deliver(budget, budget.paused_for, seconds)
            case Limited(key, split):
                self.limited_keys[key] = split
                for budget in [b for b in self.budgets.values() if b.key == key]:
                    budget.limited = True
                    budget.split = budget.split or split
                    self._deliver(budget, budget.wake)

    def release_all(self) -> None:
        """Give every unused slice back (the worker is going idle or away)."""
        for budget in self.budgets.values():
            budget.release()


class LeasedBudget:
    """A budget source holding a small slice of the supervisor's global budget.

    The slice is ``requests`` and ``tokens``, ``output`` of them answer tokens: kept apart only
    on a split key (separate input and output budgets); elsewhere a call's answer allowance is
    just tokens and ``output`` stays 0.
    """

    def __init__(
        self, owner: WorkerBudgets, budget_id: int, key: BudgetId, limit: RateLimit
    ) -> None:
        self._owner = owner
        self.loop = asyncio.get_running_loop()
        self.id = budget_id
        self.key = key
        self.limit = limit
        self._limit_tuple: LimitTuple = (limit.rpm, limit.tpm, limit.itpm, limit.otpm, limit.burst)
        self.limited = is_limited(limit) or key in owner.limited_keys
        self.split = is_split(limit) or owner.limited_keys.get(key, False)
        self.requests = 0
        self.tokens = 0
        self.output = 0
        self.pending = False
        self.paused_until = -math.inf
        self.keep_tokens = 0
        """Tokens this budget keeps rather than gives back (refunds, a batch's share)."""
        self.keep_output = 0
        """Of ``keep_tokens``, answer tokens (a batch's share; split keys only)."""
        self._keep_refunds = 0
        self.batch = 1
        """Requests the next ``want`` asks for: doubles while grants come back full and
        quickly used, back to what a grant could hold when the global buckets run short."""
        self._each = 0
        self._each_output = 0
        self._wanted_with = 0
        """The answer tokens held when the outstanding want was sent."""
        self._granted_at = -math.inf
        self._wake: Callable[[], None] | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._observed_at = -math.inf
        self._observed_limits: tuple[int | None, ...] = ()

    # BudgetSource protocol ------------------------------------------------------------

    def set_waker(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def wait_time(self, tokens: int, now: float, output: int = 0) -> float:
        if now < self.paused_until:
            return self.paused_until - now
        if not self.limited:
            return 0.0
        if not self.split:
            output = 0
        need_output = max(0, output - self.output)
        need = max(0, tokens - output - (self.tokens - self.output)) + need_output
        if self.requests >= 1 and not need:
            return 0.0
        if not self.pending:
            self.pending = True
            hot = now - self._granted_at < IDLE_RETURN_S
            self.batch = min(self.batch * 2, MAX_BATCH) if hot else 1
            self._keep_refunds = max(self._keep_refunds, need * 2)
            self._each, self._each_output = tokens, output
            self._wanted_with = max(0, self.output)
            self.keep_tokens = max(self._keep_refunds, self.batch * tokens)
            self.keep_output = self.batch * output
            more = self.batch - 1
            want = Want(
                self.id, self.key, need, need_output, self._limit_tuple, more, tokens, output
            )
            self._owner.send(want)
        return math.inf

    def take(self, tokens: int, now: float, output: int = 0) -> None:
        if not self.limited:
            return
        self.requests -= 1
        self.tokens -= tokens
        if self.split:
            self.output -= output
        self._settle_slice()

    def adjust(self, requests: int, tokens: int, now: float, output: int = 0) -> None:
        if not self.limited:
            return
        self.requests += requests
        self.tokens += tokens
        if self.split:
            self.output += output
        self._settle_slice()

    def pause(self, kind: Any, until: float, now: float) -> None:
        seconds = until - now
        if until > self.paused_until:
            self.paused_until = until
        self._owner.send(Pause(self.key, kind, seconds))

    def observe(self, snapshot: RateLimitSnapshot, now: float) -> None:
        limits = (
            snapshot.limit_requests,
            snapshot.limit_tokens,
            snapshot.limit_input_tokens,
            snapshot.limit_output_tokens,
        )
        if limits == self._observed_limits and now - self._observed_at < OBSERVE_EVERY_S:
            return
        self._observed_at = now
        self._observed_limits = limits
        self._owner.send(Observe(self.key, snapshot.provider_fields()))

    # lease plumbing -------------------------------------------------------------------

    def wake(self) -> None:
        """Tell the limiter that capacity arrived."""
        if self._wake is not None:
            self._wake()

    def granted(self, requests: int, tokens: int, output: int) -> None:
        """The supervisor granted ``requests`` and ``tokens`` (``output`` for answers)."""
        self.pending = False
        self._granted_at = self.loop.time()
        if requests < self.batch:  # the global buckets are short: no batch to keep
            self.batch = requests
            self.keep_tokens = max(self._keep_refunds, requests * self._each)
            self.keep_output = requests * self._each_output
        self.requests += requests
        self.tokens += tokens
        self.output += output
        self._arm_idle()
        self.wake()

    def paused_for(self, seconds: float) -> None:
        """Another worker saw a 429: admit nothing for ``seconds``."""
        until = asyncio.get_running_loop().time() + seconds
        if until > self.paused_until:
            self.paused_until = until
        self.wake()

    def _settle_slice(self) -> None:
        """Give back what is held beyond what we keep, and charge a debt at once: input and
        answer tokens each on their own."""
        # While a want is out, answer tokens refunded since are given back, not kept: the want
        # asked for what was missing then, and the supervisor may be waiting for these.
        keep_output = min(self.keep_output, self._wanted_with) if self.pending else self.keep_output
        give_output = _excess(self.output, keep_output)
        give_tokens = give_output + _excess(
            self.tokens - self.output, self.keep_tokens - keep_output
        )
        self.tokens -= give_tokens
        self.output -= give_output
        give_requests = 0
        if self.requests > self.batch:
            give_requests = self.requests - self.batch
            self.requests = self.batch
        if give_requests or give_tokens or give_output:
            self._owner.send(Give(self.key, give_requests, give_tokens, give_output))
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
        self.keep_output = 0
        self.release()

    def release(self) -> None:
        """Give the whole unused slice back."""
        output = max(0, self.output)
        tokens = output + max(0, self.tokens - self.output)
        if self.requests > 0 or tokens > 0:
            self._owner.send(Give(self.key, max(0, self.requests), tokens, output))
            self.requests = min(0, self.requests)
            self.tokens -= tokens
            self.output -= output


def _excess(held: int, keep: int) -> int:
    """What to give back of ``held`` when keeping ``keep``: a debt (negative) all of it."""
    if held < 0:
        return held
    return max(0, held - keep)
