"""The lease protocol: one global RPM/TPM budget for every worker, leased in slices.

Supervisor side, :class:`~fastcrew.batch.supervisor.budget.GlobalBudgets`: one
:class:`~fastcrew.limits.LocalBudget` per budget key (endpoint + key hash) with the run's
``--rpm/--tpm`` (or the LLM's own ``RateLimit``), and a FIFO of lease requests per key. Worker
side, :class:`~fastcrew.batch.worker.budget.LeasedBudget`: the budget source every limiter in
the worker gets (the budget provider the worker injects into its
:class:`~fastcrew.process_runtime.Runtime`).

The lease protocol (the messages are in :mod:`~fastcrew.batch.wire.messages`; see
docs/batch.md)::

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

from collections.abc import Callable
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
    "Send",
    "is_limited",
]

IDLE_RETURN_S = 0.05
"""A worker's unused slice goes back to the supervisor after this long without a call."""
MAX_BATCH = 16
"""The most requests one grant carries (a hot budget's ``want`` doubles up to it)."""
OBSERVE_EVERY_S = 0.25
"""A worker forwards the provider's headers at most this often per budget (plus changes)."""

Send = Callable[[Any], None]
"""Sends one message of :mod:`~fastcrew.batch.wire.messages` to the other side."""
LimitTuple = tuple[Limit, Limit, float]
BudgetId = str | CapSpec
"""An endpoint budget's key, or the spec of a ``max_rpm`` cap."""


def is_limited(limit: RateLimit) -> bool:
    """Whether ``limit`` sets a number (not ``None``/``"auto"``) for requests or tokens."""
    return isinstance(limit.rpm, int) or isinstance(limit.tpm, int)
