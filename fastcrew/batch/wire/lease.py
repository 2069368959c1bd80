"""The lease protocol: one global RPM/TPM (ITPM/OTPM) budget for every worker, leased in slices.

Supervisor side, :class:`~fastcrew.batch.supervisor.budget.GlobalBudgets`: one
:class:`~fastcrew.limits.LocalBudget` per budget key (endpoint + key hash) with the run's
``--rpm/--tpm/--itpm/--otpm`` (or the LLM's own ``RateLimit``), and a FIFO of lease requests
per key. Worker
side, :class:`~fastcrew.batch.worker.budget.LeasedBudget`: the budget source every limiter in
the worker gets (the budget provider the worker injects into its
:class:`~fastcrew.process_runtime.Runtime`).

The lease protocol (the messages are in :mod:`~fastcrew.batch.wire.messages`; see
docs/batch.md)::

    worker → supervisor   ("want", budget_id, key, tokens, output, (rpm, tpm, itpm, otpm,
                           burst), more, each, each_output)
                          ("give", key, requests, tokens, output)  unused slice / a debt
                          ("pause", key, kind, seconds)      a 429 seen by this worker
                          ("observe", key, snapshot fields)  rate-limit headers
    supervisor → worker   ("grant", budget_id, key, requests, tokens, output)
                          ("pause", key, kind, seconds)      a 429 seen by another worker
                          ("limited", key, split)            an 'auto' limit was learned

Token amounts are a call's whole reservation, ``output`` of them its answer allowance. Only a
*split* key — one with separate input and output budgets (Anthropic's ITPM/OTPM, set or
learned) — keeps the two apart: a worker of any other key leases tokens alone (output 0).

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

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ...limits import RateLimit
from ...limits.config import Limit
from ...process_runtime import CapSpec

__all__ = [
    "IDLE_RETURN_S",
    "MAX_BATCH",
    "OBSERVE_EVERY_S",
    "BudgetId",
    "LimitTuple",
    "Overrides",
    "Send",
    "is_limited",
    "is_split",
]

IDLE_RETURN_S = 0.05
"""A worker's unused slice goes back to the supervisor after this long without a call."""
MAX_BATCH = 16
"""The most requests one grant carries (a hot budget's ``want`` doubles up to it)."""
OBSERVE_EVERY_S = 0.25
"""A worker forwards the provider's headers at most this often per budget (plus changes)."""

Send = Callable[[Any], None]
"""Sends one message of :mod:`~fastcrew.batch.wire.messages` to the other side."""
LimitTuple = tuple[Limit, Limit, Limit, Limit, float]
"""``(rpm, tpm, itpm, otpm, burst)`` of the LLMs behind a budget."""
BudgetId = str | CapSpec
"""An endpoint budget's key, or the spec of a ``max_rpm`` cap."""


@dataclass(frozen=True, slots=True)
class Overrides:
    """``--rpm`` / ``--tpm`` / ``--itpm`` / ``--otpm``: an endpoint's limits for the whole run
    (None: the LLM's own)."""

    rpm: int | None = None
    tpm: int | None = None
    itpm: int | None = None
    otpm: int | None = None

    def apply(self, limit: RateLimit) -> RateLimit:
        """``limit`` with these amounts (its charging model and burst stay)."""
        return replace(
            limit,
            rpm=limit.rpm if self.rpm is None else self.rpm,
            tpm=limit.tpm if self.tpm is None else self.tpm,
            itpm=limit.itpm if self.itpm is None else self.itpm,
            otpm=limit.otpm if self.otpm is None else self.otpm,
        )


def is_limited(limit: RateLimit) -> bool:
    """Whether ``limit`` sets a number (not ``None``/``"auto"``) for requests or tokens."""
    return is_split(limit) or isinstance(limit.rpm, int) or isinstance(limit.tpm, int)


def is_split(limit: RateLimit) -> bool:
    """Whether ``limit`` sets separate input or output token budgets."""
    return isinstance(limit.itpm, int) or isinstance(limit.otpm, int)
