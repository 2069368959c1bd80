"""The supervisor's side of the lease protocol (:mod:`~fastcrew.batch.wire.lease`): the global
buckets, one :class:`~fastcrew.limits.LocalBudget` per budget key (endpoint + key hash) with
the run's ``--rpm/--tpm/--itpm/--otpm`` (or the LLM's own ``RateLimit``), and a FIFO of
workers' wants per key.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable

from ...limits import LocalBudget, RateLimit, RateLimitSnapshot
from ...process_runtime import CapSpec
from ..wire.lease import BudgetId, LimitTuple, Overrides
from ..wire.messages import Give, Grant, Limited, Observe, Pause, Want

__all__ = ["GlobalBudgets"]

_AUTO: LimitTuple = ("auto", "auto", "auto", "auto", 1.0)


class _Key:
    __slots__ = (
        "budget",
        "granted_requests",
        "granted_tokens",
        "limited",
        "split",
        "timer",
        "wants",
    )

    def __init__(self, budget: LocalBudget) -> None:
        self.budget = budget
        self.wants: deque[tuple[int, Want]] = deque()
        """(worker, want) in arrival order."""
        self.timer: asyncio.TimerHandle | None = None
        self.limited = budget.limited
        self.split = _split(budget)
        self.granted_requests = 0
        self.granted_tokens = 0


def _split(budget: LocalBudget) -> bool:
    return budget.input is not None or budget.output is not None


class GlobalBudgets:
    """The supervisor's buckets, one per budget key, leased to workers in FIFO order.

    ``rpm`` / ``tpm`` / ``itpm`` / ``otpm`` (when not None) replace the limits the workers'
    LLMs were configured with; ``send(worker, message)`` delivers to one worker; ``loop``
    schedules refill timers and gives the clock.
    """

    def __init__(
        self,
        send: Callable[[int, Grant | Pause | Limited], None],
        loop: asyncio.AbstractEventLoop,
        *,
        rpm: int | None = None,
        tpm: int | None = None,
        itpm: int | None = None,
        otpm: int | None = None,
    ) -> None:
        self._send = send
        self._loop = loop
        self.overrides = Overrides(rpm, tpm, itpm, otpm)
        self.keys: dict[BudgetId, _Key] = {}
        self.workers: set[int] = set()
        self.pauses = 0

    def limit_for(self, limit: LimitTuple, key: BudgetId = "") -> RateLimit:
        """The global limit of a key whose LLMs ask for ``limit``; a ``max_rpm`` cap keeps
        its own (``--rpm`` & co are the endpoint's limits, not the cap's)."""
        rpm, tpm, itpm, otpm, burst = limit
        asked = RateLimit(rpm=rpm, tpm=tpm, itpm=itpm, otpm=otpm, burst=burst)
        return asked if isinstance(key, CapSpec) else self.overrides.apply(asked)

    def _key(self, key: BudgetId, limit: LimitTuple | None) -> _Key:
        found = self.keys.get(key)
        if found is None:
            asked = limit if limit is not None else _AUTO
            budget = LocalBudget(self.limit_for(asked, key), self._loop.time())
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
            case Want(key=key, limit=limit):
                state = self._key(key, limit)
                state.wants.append((worker, message))
                if len(state.wants) == 1:
                    self._pump(key)
            case Give(key, requests, tokens, output):
                state = self._key(key, None)
                state.budget.adjust(requests, tokens, now, output)
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
                limited, split = state.budget.limited, _split(state.budget)
                if (limited, split) != (state.limited, state.split):
                    state.limited, state.split = limited, split
                    for other in self.workers:
                        self._send(other, Limited(key, split))
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
            worker, want = wants[0]
            if worker not in self.workers:
                wants.popleft()
                continue
            tokens, output = want.tokens, want.output
            wait = budget.wait_time(tokens, now, output)
            if wait > 0.0:
                if wait != math.inf:
                    state.timer = self._loop.call_at(now + wait, self._pump, key)
                return
            wants.popleft()
            budget.take(tokens, now, output)
            requests = 1
            # A hot worker's extra requests: only what is there now, and nobody else waits.
            each, each_output = want.each, want.each_output
            while (
                requests <= want.more
                and not wants
                and budget.wait_time(each, now, each_output) == 0.0
            ):
                budget.take(each, now, each_output)
                requests += 1
                tokens += each
                output += each_output
            state.granted_requests += requests
            state.granted_tokens += tokens
            self._send(worker, Grant(want.budget_id, key, requests, tokens, output))

    def close(self) -> None:
        """Cancel the refill timers."""
        for state in self.keys.values():
            if state.timer is not None:
                state.timer.cancel()
                state.timer = None
