"""One global RPM/TPM budget for every worker: the supervisor owns the buckets, workers lease.

Supervisor side, :class:`GlobalBudgets`: one :class:`~fastcrew.limits.LocalBudget` per budget
key (endpoint + key hash) with the run's ``--rpm/--tpm`` (or the LLM's own ``RateLimit``),
and a FIFO of lease requests per key. Worker side, :class:`LeasedBudget`: the budget source
every limiter in the worker gets (the budget provider the worker injects into its
:class:`~fastcrew.process_runtime.Runtime`).

The lease protocol (messages are tuples; see docs/batch.md)::

    worker → supervisor   ("want", budget_id, key, tokens, (rpm, tpm, burst), more, each)
                          ("give", key, requests, tokens)    unused slice back / a debt
                          ("pause", key, kind, seconds)      a 429 seen by this worker
                          ("observe", key, snapshot fields)  x-ratelimit-* headers
    supervisor → worker   ("grant", budget_id, key, requests, tokens)
                          ("pause", key, kind, seconds)      a 429 seen by another worker
                          ("limited", key, True)             an 'auto' limit was learned

A worker asks for what the head of its limiter's queue needs (one request and its estimated
tokens), at most one ``want`` outstanding per budget, and is answered in FIFO order across
workers as the global buckets refill. A budget that runs hot (it runs out again within
:data:`IDLE_RETURN_S` of its last grant) also asks for ``more`` requests of ``each`` tokens,
doubling up to :data:`MAX_BATCH`: the supervisor adds them to the grant only while its
buckets hold them *now* and no other worker is waiting, so under a binding limit grants stay
one at a time and FIFO, and with room to spare one round trip serves up to 16 calls. Refunds
from settled calls stay in the worker up to two calls' worth (so the next call rarely waits
for a round trip); the rest goes back at once, everything goes back after
:data:`IDLE_RETURN_S` without a call, and a debt (a call that used more tokens than it
reserved) is charged to the global buckets at once. The sum the workers can send therefore
never exceeds what the global buckets admit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
from collections import deque
from collections.abc import Callable
from typing import Any

from ..limits import LocalBudget, RateLimit, RateLimitSnapshot
from ..limits.config import Limit
from ..process_runtime import CapSpec

__all__ = ["IDLE_RETURN_S", "MAX_BATCH", "GlobalBudgets", "LeasedBudget", "WorkerBudgets"]

IDLE_RETURN_S = 0.05
"""A worker's unused slice goes back to the supervisor after this long without a call."""
MAX_BATCH = 16
"""The most requests one grant carries (a hot budget's ``want`` doubles up to it)."""
OBSERVE_EVERY_S = 0.25
"""A worker forwards the provider's headers at most this often per budget (plus changes)."""

Send = Callable[[tuple[Any, ...]], None]
LimitTuple = tuple[Limit, Limit, float]
BudgetId = str | CapSpec
"""An endpoint budget's key, or the spec of a ``max_rpm`` cap."""


def _limited(limit: RateLimit) -> bool:
    return isinstance(limit.rpm, int) or isinstance(limit.tpm, int)


# -- supervisor side ----------------------------------------------------------------------


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
        send: Callable[[int, tuple[Any, ...]], None],
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

    def handle(self, worker: int, message: tuple[Any, ...]) -> None:
        """One budget message from ``worker``."""
        kind = message[0]
        now = self._loop.time()
        if kind == "want":
            _, budget_id, key, tokens, limit, more, each = message
            state = self._key(key, limit)
            state.wants.append((worker, budget_id, tokens, more, each))
            if len(state.wants) == 1:
                self._pump(key)
        elif kind == "give":
            _, key, requests, tokens = message
            state = self._key(key, None)
            state.budget.adjust(requests, tokens, now)
            self._pump(key)
        elif kind == "pause":
            _, key, what, seconds = message
            state = self._key(key, None)
            self.pauses += 1
            state.budget.pause(what, now + seconds, now)
            for other in self.workers:
                if other != worker:
                    self._send(other, ("pause", key, what, seconds))
            self._pump(key)
        elif kind == "observe":
            _, key, fields = message
            state = self._key(key, None)
            state.budget.observe(RateLimitSnapshot(*fields), now)
            limited = state.budget.requests is not None or state.budget.tokens is not None
            if limited and not state.limited:
                state.limited = True
                for other in self.workers:
                    self._send(other, ("limited", key, True))
            self._pump(key)
        else:  # pragma: no cover - a programming error
            raise ValueError(f"unknown budget message {kind!r}")

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
            self._send(worker, ("grant", budget_id, key, requests, tokens))

    def close(self) -> None:
        """Cancel the refill timers."""
        for state in self.keys.values():
            if state.timer is not None:
                state.timer.cancel()
                state.timer = None


# -- worker side --------------------------------------------------------------------------


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

    def send(self, message: tuple[Any, ...]) -> None:
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

    def handle(self, message: tuple[Any, ...]) -> None:
        """One budget message from the supervisor."""
        kind = message[0]
        if kind == "grant":
            _, budget_id, key, requests, tokens = message
            budget = self.budgets.get(budget_id)
            if budget is None or not self._deliver(budget, budget.granted, requests, tokens):
                self._send(("give", key, requests, tokens))
        elif kind == "pause":
            _, key, _what, seconds = message
            for budget in [b for b in self.budgets.values() if b.key == key]:
                self._deliver(budget, budget.paused_for, seconds)
        elif kind == "limited":
            self.limited_keys.add(message[1])
            for budget in [b for b in self.budgets.values() if b.key == message[1]]:
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
        self.limited = _limited(limit) or key in owner.limited_keys
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
            want = ("want", self.id, self.key, need, self._limit_tuple, self.batch - 1, tokens)
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
        self._owner.send(("pause", self.key, kind, seconds))

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
        self._owner.send(("observe", self.key, fields))

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
            self._owner.send(("give", self.key, give_requests, give_tokens))
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
            self._owner.send(("give", self.key, max(0, self.requests), max(0, self.tokens)))
            self.requests = min(0, self.requests)
            self.tokens = min(0, self.tokens)
