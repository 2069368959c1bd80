"""What a run spends, and ``--max-cost``: row-level admission against one budget.

Pure bookkeeping (no I/O, no loop), fed by the supervisor:

- finished rows bring their cost (``RowResult.cost_usd``, per worker slot);
- every second each worker reports its process's running ``cost_usd`` (every call it made:
  rows still running, error rows' calls, calls of rows a death lost). What a worker spent
  beyond its finished rows is counted as spent too, so :attr:`Spend.spent` is this run's spend
  so far (to within a second of the calls in flight).

Admission (``cap`` set): a row goes out only if ``spent + (rows in flight + 1) x reserve <=
cap``, where ``reserve`` is the worst row seen so far (the highest ok-row cost, or mean + 3
standard deviations if higher). Rows handed out are covered, so a worker may start the rows it
queued. Before the first ok row there is no estimate: at most ``first_wave`` rows (workers x
concurrency, one wave) go out, and none once the spend reaches the cap. When nothing is in
flight and the next row is still refused, the run ends (``budget_exhausted``).
"""

from __future__ import annotations

import math

__all__ = ["PROJECT_AFTER", "Spend"]

PROJECT_AFTER = 5
"""Rows done before the progress line projects the whole run's cost."""
RESERVE_SIGMAS = 3.0
"""A row's reservation: at least mean + this many standard deviations of the ok rows' cost."""


class Spend:
    """This run's spend (USD) and, with a ``cap``, whether one more row may start."""

    def __init__(self, cap: float | None = None, first_wave: int = 1) -> None:
        self.cap = cap
        self.first_wave = max(first_wave, 1)
        self.rows_usd = 0.0
        """The finished rows' cost (error rows' usage is zero: their calls are in the
        workers' spend)."""
        self.rows_unpriced = 0
        """Requests of finished rows whose cost is unknown (counted 0)."""
        self._finished: dict[int, float] = {}
        self._process: dict[int, float] = {}
        self._gone = 0.0
        """Exited workers' spend beyond their finished rows."""
        self._n = 0
        self._mean = 0.0
        self._m2 = 0.0
        self._max = 0.0
        self.refused = False
        """The last admission question was answered no."""

    # -- what the workers report -------------------------------------------------------------

    def finished(self, slot: int, cost_usd: float, unpriced: int, ok: bool) -> None:
        """A row came back from the worker in ``slot``; ``ok`` rows shape the reservation."""
        self.rows_usd += cost_usd
        self.rows_unpriced += unpriced
        self._finished[slot] = self._finished.get(slot, 0.0) + cost_usd
        if ok:
            self._n += 1
            delta = cost_usd - self._mean
            self._mean += delta / self._n
            self._m2 += delta * (cost_usd - self._mean)
            self._max = max(self._max, cost_usd)

    def process(self, slot: int, cost_usd: float) -> None:
        """The worker in ``slot`` has spent ``cost_usd`` so far (its pong)."""
        self._process[slot] = cost_usd

    def worker_gone(self, slot: int) -> None:
        """The worker in ``slot`` exited: what it spent beyond its rows stays spent, and a
        replacement in the slot starts from zero."""
        self._gone += self._unreported(slot)
        self._process.pop(slot, None)
        self._finished.pop(slot, None)

    def _unreported(self, slot: int) -> float:
        return max(0.0, self._process.get(slot, 0.0) - self._finished.get(slot, 0.0))

    # -- the numbers ---------------------------------------------------------------------------

    @property
    def spent(self) -> float:
        """This run's spend so far: finished rows, plus every worker's calls beyond them."""
        return self.rows_usd + self._gone + sum(self._unreported(s) for s in self._process)

    @property
    def rows(self) -> int:
        """Ok rows measured."""
        return self._n

    @property
    def mean(self) -> float | None:
        """The mean cost of an ok row (None before the first)."""
        return self._mean if self._n else None

    @property
    def reserve(self) -> float | None:
        """What one more row may cost: the worst seen, at least mean + 3 standard deviations
        (None before the first ok row)."""
        if not self._n:
            return None
        sd = math.sqrt(self._m2 / (self._n - 1)) if self._n > 1 else 0.0
        return max(self._max, self._mean + RESERVE_SIGMAS * sd)

    @property
    def reached(self) -> bool:
        """Whether the spend has reached the cap."""
        return self.cap is not None and self.spent >= self.cap

    def admit(self, in_flight: int) -> bool:
        """Whether one more row may go out, ``in_flight`` rows being out already."""
        cap = self.cap
        if cap is None:
            return True
        spent = self.spent
        reserve = self.reserve
        if spent >= cap:
            ok = False
        elif reserve is None:
            ok = in_flight < self.first_wave
        else:
            ok = spent + (in_flight + 1) * reserve <= cap
        self.refused = not ok
        return ok

    def projection(self, done: int, remaining: int) -> tuple[float, float, float] | None:
        """This run's spend once ``remaining`` more rows are done, as (low, expected, high):
        the spend per row so far (``done`` rows) x the rows left, ± 2 standard errors of the
        ok rows' cost; None before :data:`PROJECT_AFTER` rows."""
        if done < PROJECT_AFTER:
            return None
        spent = self.spent
        per_row = spent / done
        se = 0.0
        if self._n > 1:
            se = math.sqrt(self._m2 / (self._n - 1) / self._n)
        left = max(remaining, 0)
        return (
            spent + left * max(per_row - 2 * se, 0.0),
            spent + left * per_row,
            spent + left * (per_row + 2 * se),
        )
