"""The limiter: FIFO admission of LLM calls against a budget source and concurrency slots.

Arrival order is admission order: the head of the queue waits until the budget holds its
request *and* its tokens, and nobody behind it overtakes, so a large request is never starved
by a stream of small ones. Reserve, then settle: a call reserves its estimated prompt plus an
answer allowance (``max_tokens``) when admitted, and settles afterwards to what the provider
counts — by the budget's :attr:`~fastcrew.limits.RateLimit.charge` model, the unused allowance
stays charged (``"max_tokens"``, OpenAI's way) or is refunded (``"usage"``). A 429 pauses the
exceeded bucket for every waiter; quota exhaustion fails every current and future caller.

A :class:`~fastcrew.limits.shared.SharedBudget` is drawn from by one limiter per event loop;
their queues then merge into one arrival order (see :mod:`fastcrew.limits.shared`).
"""

from __future__ import annotations

import asyncio
import functools
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import cast, get_args

from ..errors import QuotaExhaustedError, RateLimitError
from .shared import SharedBudget
from .snapshot import RateLimitSnapshot
from .source import BudgetSource, LimitKind

__all__ = ["DEFAULT_RETRY_AFTER_S", "Lease", "Limiter", "LimiterStats"]

DEFAULT_RETRY_AFTER_S = 1.0
_KINDS = frozenset(get_args(LimitKind))


@dataclass(slots=True)
class LimiterStats:
    """Counters of one limiter (one endpoint and key, on one event loop)."""

    admitted: int = 0
    waited: int = 0
    rate_limited: int = 0
    retries: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    paused_s: float = 0.0
    reserved_tokens: int = 0
    settled_tokens: int = 0
    withheld_tokens: int = 0
    """Unused answer allowance kept charged because the provider still counts it."""
    per_kind_429: dict[str, int] = field(default_factory=dict)


_Waiter = tuple["asyncio.Future[Lease]", int, int, int]
"""A queued call: its future, reserved tokens, expected completion tokens, arrival stamp."""


class Lease:
    """One admitted call: its token reservation (``completion`` of it for the answer) and its
    concurrency slot."""

    __slots__ = ("_limiter", "completion", "done", "granted_at", "tokens")

    def __init__(
        self, limiter: Limiter, tokens: int, completion: int = 0, granted_at: float = 0.0
    ) -> None:
        self._limiter = limiter
        self.tokens = tokens
        self.completion = completion
        self.granted_at = granted_at
        self.done = False

    def settle(self, actual_tokens: int | None) -> None:
        """The call finished: charge or refund the difference to the real usage
        (``None`` = unknown, keep the reservation) and free the slot."""
        if self.done:
            return
        self.done = True
        self._limiter._settle(self, actual_tokens, self.completion)

    def settle_usage(self, prompt_tokens: int, completion_tokens: int) -> None:
        """The call finished with this reported usage: settle to what the provider counts
        (:meth:`Limiter.charged`) and free the slot."""
        if self.done:
            return
        self.done = True
        charged, answer = self._limiter.charged(self, prompt_tokens, completion_tokens)
        self._limiter._settle(self, charged, answer)

    def refuse(self) -> None:
        """The provider refused the call (429): give the request and tokens back."""
        if self.done:
            return
        self.done = True
        self._limiter._settle(self, 0, 0, refused=True)


class Limiter:
    """FIFO admission against ``source``, with at most ``max_concurrency`` calls in flight."""

    def __init__(
        self,
        source: BudgetSource,
        *,
        max_concurrency: int | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.source = source
        self.max_concurrency = max_concurrency
        self.stats = LimiterStats()
        self._loop = loop or asyncio.get_running_loop()
        self._waiters: deque[_Waiter] = deque()
        """(future, tokens, answer allowance, arrival stamp) in arrival order."""
        self._shared: SharedBudget | None = None
        self._adjust: Callable[[int, int, float, int], None] = source.adjust
        self._bind(source)
        self._wake_pending = False
        """A pump is queued on our loop by another one (guarded by the shared budget's lock)."""
        self._timer: asyncio.TimerHandle | None = None
        self._exhausted: QuotaExhaustedError | None = None
        self._completion_avg: float | None = None
        self._completion_max: int | None = None
        self._resume_at = -math.inf
        self._in_flight_tokens = 0
        self.explicit = False
        source.set_waker(self._wake)

    def reconfigure(self, source: BudgetSource, max_concurrency: int | None) -> None:
        """Switch to another budget source and concurrency cap (queued callers keep order)."""
        old, self.source = self._shared, source
        self._bind(source)
        if old is not None and old is not self._shared:
            with old.lock:
                old.leave(self)
        self.max_concurrency = max_concurrency
        source.set_waker(self._wake)
        self._pump()

    def _bind(self, source: BudgetSource) -> None:
        """Draw from ``source``: in one arrival order with other loops' limiters when shared."""
        if isinstance(source, SharedBudget):
            self._shared = source
            self._adjust = functools.partial(source.adjust_by, self)
        else:
            self._shared = None
            self._adjust = source.adjust

    def now(self) -> float:
        """The limiter's clock: the loop's time (which tests may fast-forward)."""
        return self._loop.time()

    @property
    def exhausted(self) -> QuotaExhaustedError | None:
        """The quota error that stopped this limiter, if any."""
        return self._exhausted

    def completion_estimate(self, default: int) -> int:
        """The answer allowance to reserve for a call that sets no ``max_tokens``.

        The limit's ``default_max_tokens`` when given. Else, with ``charge="max_tokens"``, the
        largest answer seen so far (a provider's default is at least its longest answer);
        with ``charge="usage"``, the running average of answers. ``default`` before any.
        """
        limit = self.source.limit
        if limit.default_max_tokens is not None:
            return limit.default_max_tokens
        if limit.charge == "max_tokens":
            return default if self._completion_max is None else self._completion_max
        if self._completion_avg is None:
            return default
        return math.ceil(self._completion_avg)

    def record_completion(self, tokens: int) -> None:
        """Feed one real answer size into the running average and maximum."""
        avg = self._completion_avg
        self._completion_avg = tokens if avg is None else avg + (tokens - avg) * 0.1
        if self._completion_max is None or tokens > self._completion_max:
            self._completion_max = tokens

    def charged(self, lease: Lease, prompt_tokens: int, completion_tokens: int) -> tuple[int, int]:
        """What the provider counts for ``lease``'s call, given its reported usage: all its
        tokens, and the answer's share of them.

        ``charge="max_tokens"``: the answer counts as the larger of the allowance reserved
        and the answer (a provider charges ``max_tokens`` at admission and keeps counting it);
        ``"usage"``: as the answer.
        """
        answer = completion_tokens
        if self.source.limit.charge == "max_tokens" and lease.completion > completion_tokens:
            self.stats.withheld_tokens += lease.completion - completion_tokens
            answer = lease.completion
        return prompt_tokens + answer, answer

    def _slot_free(self) -> bool:
        return self.max_concurrency is None or self.stats.in_flight < self.max_concurrency

    def _lease(self, tokens: int, completion: int, now: float) -> Lease:
        """Count an admission whose tokens were just taken from the source."""
        stats = self.stats
        stats.admitted += 1
        stats.reserved_tokens += tokens
        stats.in_flight += 1
        self._in_flight_tokens += tokens
        if stats.in_flight > stats.peak_in_flight:
            stats.peak_in_flight = stats.in_flight
        return Lease(self, tokens, completion, now)

    async def acquire(self, tokens: int, *, completion: int = 0) -> Lease:
        """Wait for this call's turn and budget for ``tokens`` (of which ``completion`` is the
        answer allowance); returns the lease to settle afterwards."""
        if self._exhausted is not None:
            raise self._quota_error()
        shared = self._shared
        if not self._waiters and self._slot_free():
            now = self._loop.time()
            if shared is None:
                source = self.source
                if now >= self._resume_at and source.wait_time(tokens, now, completion) <= 0.0:
                    source.take(tokens, now, completion)
                    return self._lease(tokens, completion, now)
                stamp = 0
            else:  # one lock: nobody from another loop waits ahead, and the budget holds it
                stamp = shared.try_take(self, tokens, completion, now, self._resume_at)
                if not stamp:
                    return self._lease(tokens, completion, now)
        else:
            stamp = 0 if shared is None else shared.stamp()
        future: asyncio.Future[Lease] = self._loop.create_future()
        self._waiters.append((future, tokens, completion, stamp))
        self.stats.waited += 1
        if len(self._waiters) == 1:
            self._pump()
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled() and future.exception() is None:
                future.result().settle(None)  # granted just as we were cancelled
            self._pump()
            raise

    def _wake(self) -> None:
        self._loop.call_soon(self._pump)

    def _pump(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._shared is not None:
            self._pump_shared(self._shared)
            return
        waiters = self._waiters
        now = self._loop.time()
        while (front := self._live_front()) is not None:
            future, tokens, completion, _ = front
            if not self._slot_free():
                return  # a settle wakes us
            wait = max(self.source.wait_time(tokens, now, completion), self._resume_at - now)
            if wait > 0.0:
                if wait != math.inf:
                    self._timer = self._loop.call_at(now + wait, self._pump)
                return
            waiters.popleft()
            self.source.take(tokens, now, completion)
            future.set_result(self._lease(tokens, completion, now))

    def _live_front(self) -> _Waiter | None:
        """The first waiter still waiting: cancelled ones are dropped, and once the quota
        is gone every waiter fails with it."""
        waiters = self._waiters
        while waiters:
            front = waiters[0]
            if front[0].done():
                waiters.popleft()
            elif self._exhausted is not None:
                waiters.popleft()
                front[0].set_exception(self._quota_error())
            else:
                return front
        return None

    def _pump_shared(self, shared: SharedBudget) -> None:
        """:meth:`_pump` in the arrival order of every loop drawing from ``shared``: only
        the front's limiter takes; the others wait to be woken (or check the front's loop is
        alive every :data:`~fastcrew.limits.shared.FRONT_CHECK_S`)."""
        waiters = self._waiters
        now = self._loop.time()
        with shared.lock:
            self._wake_pending = False
            while (front := self._live_front()) is not None:
                future, tokens, completion, stamp = front
                if not self._slot_free():
                    break  # a settle wakes us; meanwhile the other loops go first
                tickets = shared.tickets
                if tickets and (len(tickets) > 1 or self not in tickets):
                    check = shared.ahead(self, stamp)
                    if check:  # another loop's call is ahead: it wakes us when it has gone
                        self._timer = self._loop.call_at(now + check, self._pump)
                        return
                budget = shared.budget
                wait = max(budget.wait_time(tokens, now, completion), self._resume_at - now)
                if wait > 0.0:
                    shared.ahead(self, stamp)  # the front: later calls queue behind it
                    if wait != math.inf:
                        self._timer = self._loop.call_at(now + wait, self._pump)
                    return
                waiters.popleft()
                budget.take(tokens, now, completion)
                future.set_result(self._lease(tokens, completion, now))
            if shared.tickets:
                shared.leave(self)

    def _settle(
        self, lease: Lease, actual: int | None, answer: int, *, refused: bool = False
    ) -> None:
        """Free ``lease``'s slot and correct its reservation to ``actual`` tokens, ``answer``
        of them the answer's (None: keep it); a refused call gives everything back."""
        stats = self.stats
        stats.in_flight -= 1
        self._in_flight_tokens -= lease.tokens
        now = self._loop.time()
        if refused:
            self._adjust(1, lease.tokens, now, lease.completion)
        elif actual is not None:
            stats.settled_tokens += actual
            if actual != lease.tokens or answer != lease.completion:
                self._adjust(0, lease.tokens - actual, now, lease.completion - answer)
        if self._waiters:
            self._pump()

    def observe(self, snapshot: RateLimitSnapshot, lease: Lease | None = None) -> None:
        """Correct the budget with the provider's headers from one response (to ``lease``'s
        call: then the budget also learns which of its admissions the provider has seen)."""
        if snapshot.present:
            if lease is not None:
                snapshot = replace(
                    snapshot,
                    call_admitted_at=lease.granted_at,
                    call_tokens=lease.tokens,
                    in_flight_tokens=self._in_flight_tokens,
                )
            if self._shared is not None:
                self._shared.observe(snapshot, self._loop.time(), self)
            else:
                self.source.observe(snapshot, self._loop.time())
            if self._waiters:
                self._pump()

    def rate_limited(self, error: RateLimitError) -> float:
        """A 429: pause the exceeded bucket for every caller; returns the pause in seconds."""
        now = self._loop.time()
        delay = error.retry_after if error.retry_after is not None else DEFAULT_RETRY_AFTER_S
        stats = self.stats
        stats.rate_limited += 1
        kind = error.limit or "unknown"
        stats.per_kind_429[kind] = stats.per_kind_429.get(kind, 0) + 1
        stats.paused_s += delay
        self._resume_at = max(self._resume_at, now + delay)
        exceeded = cast(LimitKind, kind) if kind in _KINDS else None
        self.source.pause(exceeded, now + delay, now)
        self._pump()
        return delay

    def _quota_error(self) -> QuotaExhaustedError:
        """A fresh error per caller: callers add their own notes to what they raise."""
        first = self._exhausted
        assert first is not None
        return QuotaExhaustedError(str(first), status=first.status, request_id=first.request_id)

    def exhaust(self, error: QuotaExhaustedError) -> None:
        """Quota is gone: fail every waiter now and every later acquire."""
        self._exhausted = error
        self._pump()
