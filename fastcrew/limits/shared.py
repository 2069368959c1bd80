"""A budget shared by limiters on several event loops (threads), with one arrival order.

Each loop has its own :class:`~fastcrew.limits.Limiter` (its FIFO queue, timers and slots)
and all of them draw from one :class:`SharedBudget` under its lock. Every waiting call gets
an arrival stamp; a limiter whose queue head waits for budget registers that head's stamp
here (its *ticket*). Each loop's queue is in stamp order, so the earliest ticket — the
*front* — is the process-wide next call: only the front's limiter may take from the budget,
and a call that finds a ticket ahead of it queues rather than taking. The front's limiter
waits on its own loop's timer; when the front moves to another loop (the head was admitted
or cancelled, a slot-blocked head stepped aside) or capacity comes back early (a refund,
provider headers), the new front's loop is woken with ``call_soon_threadsafe``. Nobody
polls; a limiter behind another loop's ticket only looks again every :data:`FRONT_CHECK_S`,
in case that loop died with its waiters (a closed loop's ticket is dropped, a stopped
loop's skipped until it runs again).
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from .config import RateLimit
from .snapshot import RateLimitSnapshot
from .source import DEFAULT_LAG_S, LimitKind, LocalBudget

if TYPE_CHECKING:
    from .limiter import Limiter

__all__ = ["FRONT_CHECK_S", "SharedBudget"]

FRONT_CHECK_S = 0.5
"""How often a limiter waiting behind another loop's ticket checks that loop is alive."""

_arrivals = itertools.count(1)
"""Arrival stamps, process-wide (0 = before any: a call queued on a non-shared source)."""


class SharedBudget:
    """A :class:`LocalBudget` that limiters on several loops (threads) draw from, under one
    lock and in one arrival order (see the module docstring)."""

    __slots__ = ("_front_seen", "budget", "explicit", "lock", "stamp", "tickets")

    def __init__(
        self, limit: RateLimit, now: float, *, explicit: bool = True, lag: float = DEFAULT_LAG_S
    ) -> None:
        self.budget = LocalBudget(limit, now, lag=lag)
        self.explicit = explicit
        self.lock = threading.Lock()
        self.tickets: dict[Limiter, int] = {}
        """Each limiter whose queue head waits for budget: that head's arrival stamp."""
        self._front_seen: Limiter | None = None
        self.stamp: Callable[[], int] = _arrivals.__next__
        """An arrival stamp for a call that queues behind others on its own loop."""

    @property
    def limit(self) -> RateLimit:
        """The limit in force."""
        return self.budget.limit

    def replace(self, limit: RateLimit, now: float) -> None:
        """Switch to ``limit`` (full buckets), as an explicit limit."""
        with self.lock:
            self.budget = LocalBudget(limit, now)
            self.explicit = True
            self._wake_front(None)

    # -- BudgetSource: every operation under the lock -------------------------------------

    def set_waker(self, wake: Callable[[], None]) -> None:
        """Nothing arrives out of band: the limiters wake each other through :meth:`wake`."""

    def wait_time(self, tokens: int, now: float, output: int = 0) -> float:
        with self.lock:
            return self.budget.wait_time(tokens, now, output)

    def take(self, tokens: int, now: float, output: int = 0) -> None:
        with self.lock:
            self.budget.take(tokens, now, output)

    def adjust(self, requests: int, tokens: int, now: float, output: int = 0) -> None:
        self.adjust_by(None, requests, tokens, now, output)

    def adjust_by(
        self, by: Limiter | None, requests: int, tokens: int, now: float, output: int = 0
    ) -> None:
        """Correct an earlier take; a refund wakes the front (unless it is ``by``, the
        caller, which pumps its own queue)."""
        with self.lock:
            self.budget.adjust(requests, tokens, now, output)
            if self.tickets and (requests > 0 or tokens > 0 or output > 0):
                self._wake_front(by)

    def pause(self, kind: LimitKind | None, until: float, now: float) -> None:
        with self.lock:
            self.budget.pause(kind, until, now)

    def observe(self, snapshot: RateLimitSnapshot, now: float, by: Limiter | None = None) -> None:
        """The provider's headers may give capacity back: wake the front (unless ``by``)."""
        with self.lock:
            self.budget.observe(snapshot, now)
            self._wake_front(by)

    # -- the arrival order (callers hold the lock unless said otherwise) -------------------

    def try_take(
        self, member: Limiter, tokens: int, output: int, now: float, resume_at: float
    ) -> int:
        """A call with nothing queued on ``member``'s loop: take ``tokens`` (``output`` of
        them for the answer) now if nobody waits ahead and the budget holds them (returns
        0). Else give the call its stamp and ``member`` its ticket, atomically, and return
        the stamp. Takes the lock."""
        with self.lock:
            ahead = self.tickets and self.front(member) is not None
            budget = self.budget
            if not ahead and now >= resume_at and budget.wait_time(tokens, now, output) <= 0.0:
                budget.take(tokens, now, output)
                return 0
            stamp = self.tickets[member] = self.stamp()
            return stamp

    def front(self, member: Limiter | None) -> Limiter | None:
        """The limiter holding the earliest ticket: closed loops' tickets are dropped,
        stopped loops' skipped (``member``, the caller, counts as running)."""
        best: Limiter | None = None
        best_stamp = math.inf
        closed: list[Limiter] = []
        for limiter, stamp in self.tickets.items():
            if stamp >= best_stamp:
                continue
            loop = limiter._loop
            if limiter is not member and not loop.is_running():
                if loop.is_closed():
                    closed.append(limiter)
                continue
            best, best_stamp = limiter, stamp
        for limiter in closed:
            self.leave(limiter)
        return best

    def ahead(self, member: Limiter, stamp: int) -> float:
        """Register ``member``'s head (``stamp``). Returns 0.0 when it holds the front
        ticket; else makes sure the front's loop knows it is the front (it is woken once
        each time the front changes) and returns when ``member`` should look again."""
        tickets = self.tickets
        tickets[member] = stamp
        front = member if len(tickets) == 1 else self.front(member)
        if front is member:
            self._front_seen = member
            return 0.0
        if front is not None and front is not self._front_seen:
            self.wake(front)
        return FRONT_CHECK_S

    def leave(self, member: Limiter) -> None:
        """``member`` has no head waiting for budget any more: drop its ticket and wake
        the next front."""
        if self.tickets.pop(member, None) is None:
            return
        if self._front_seen is member:
            self._front_seen = None
        if self.tickets:
            self._wake_front(member)

    def wake(self, member: Limiter) -> None:
        """Run ``member``'s pump on its own loop (once until it has run)."""
        if member._wake_pending:
            return
        try:
            member._loop.call_soon_threadsafe(member._pump)
        except RuntimeError:  # its loop closed: its waiters will never run
            self.leave(member)
            return
        member._wake_pending = True

    def _wake_front(self, by: Limiter | None) -> None:
        if not self.tickets:
            return
        front = self.front(by)
        if front is not None and front is not by:
            self.wake(front)
