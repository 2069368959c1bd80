"""The supervisor ↔ worker protocol: one typed message per kind, both directions.

Messages are ``NamedTuple`` s: typed fields for the checker and the reader, and the pickling
cost of a plain tuple (the row traffic sends thousands a second). The same messages cross a
local socketpair and a Ray actor's socket (:mod:`~fastcrew.batch.wire.channel`)::

    supervisor → worker                          worker → supervisor
    Configure(config)       first, before the loop
                                                 Hello(pid, startup) | Fatal(error, message)
    Rows([WireRow, ...])    only after Ready     Ready(rows)         room for more rows
                                                 Started([index])    before their LLM calls
                                                 Done([RowResult])   finished rows
                                                 Unfinished([index]) given back (drain, quota)
                                                 Quota(message)      insufficient_quota
                                                 Unavailable(kind, message)  key refused /
                                                                     provider unreachable
    Reachable()             a call of the run succeeded (connection errors are rows' now)
    Answers([(key, status, body)])               Defer([(key, model, body)])
                            --via batch-api: rows' LLM calls out, the provider's answers in
    Ping(seq)                                    Pong(seq, stats)    liveness, every second
    Drain()                 finish running rows, start none
    Stop()                  cancel everything and exit
    Grant / Pause / Limited                      Want / Give / Pause / Observe   (the lease
                                                 protocol, :mod:`~fastcrew.batch.wire.lease`)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from ..config import WorkerConfig
    from .lease import BudgetId, LimitTuple

__all__ = [
    "Answers",
    "Configure",
    "Defer",
    "Done",
    "Drain",
    "Fatal",
    "Give",
    "Grant",
    "Hello",
    "Limited",
    "Observe",
    "Pause",
    "Ping",
    "Pong",
    "Quota",
    "Reachable",
    "Ready",
    "RowResult",
    "Rows",
    "Started",
    "Stop",
    "Unavailable",
    "Unfinished",
    "Want",
    "WireRow",
]


class WireRow(NamedTuple):
    """An input row sent to a worker: its position, its line number, the raw line and the
    attempt number (2 and up: the row is being re-run)."""

    index: int  # type: ignore[assignment]  # the field shadows tuple.index, on purpose
    line: int
    raw: bytes
    attempts: int


class RowResult(NamedTuple):
    """A finished row as the worker serialised it: kind (``rows.OK``/``ERROR``/``BAD``), the
    output row's bytes, and what it cost: LLM requests, tokens, USD (``cost_usd``; the
    ``unpriced`` calls among ``requests`` count 0 there)."""

    index: int  # type: ignore[assignment]  # the field shadows tuple.index, on purpose
    kind: int
    row: bytes
    requests: int
    tokens: int
    cost_usd: float = 0.0
    unpriced: int = 0


# -- supervisor → worker -------------------------------------------------------------------


class Configure(NamedTuple):
    """The worker's settings, the first message (read before its loop starts)."""

    config: WorkerConfig


class Rows(NamedTuple):
    """Rows to run (sent only after the worker said it has room)."""

    rows: list[WireRow]


class Ping(NamedTuple):
    """Liveness: answered with a :class:`Pong` of the same ``seq``."""

    seq: int


class Drain(NamedTuple):
    """Finish the rows running, start no more, give the queued ones back."""


class Stop(NamedTuple):
    """Cancel everything and exit."""


class Reachable(NamedTuple):
    """A call of the run succeeded: from now on a connection error is the row's (transient),
    not a sign that the provider is down from the start."""


class Answers(NamedTuple):
    """``--via batch-api``: answers to deferred calls, ``(request key, HTTP status, body)``."""

    answers: list[tuple[bytes, int, bytes]]


class Grant(NamedTuple):
    """Budget granted to one of the worker's budgets (``budget_id``)."""

    budget_id: int
    key: BudgetId
    requests: int
    tokens: int
    output: int
    """Of ``tokens``, those for answers (keys with separate input/output budgets)."""


class Limited(NamedTuple):
    """An ``auto`` limit on ``key`` was learned from the provider's headers: lease from now on
    (``split``: the key has separate input and output token budgets)."""

    key: BudgetId
    split: bool


# -- both ways -----------------------------------------------------------------------------


class Pause(NamedTuple):
    """A 429 paused ``key``'s ``kind`` bucket (requests or tokens) for ``seconds``: seen by a
    worker (→ supervisor) or by another worker (→ every other worker)."""

    key: BudgetId
    kind: Any
    seconds: float


# -- worker → supervisor -------------------------------------------------------------------


class Hello(NamedTuple):
    """The crew (or flow) is built; ``startup``: where the start-up time went."""

    pid: int
    startup: dict[str, Any] | None


class Fatal(NamedTuple):
    """The crew (or LLM) could not be built: the exception's type name and message."""

    error: str
    message: str


class Ready(NamedTuple):
    """Room for ``rows`` more rows."""

    rows: int


class Started(NamedTuple):
    """About to run these rows (sent before any of their LLM calls)."""

    indices: list[int]


class Done(NamedTuple):
    """Finished rows."""

    results: list[RowResult]


class Unfinished(NamedTuple):
    """Rows given back unfinished (a drain, or the quota ran out)."""

    indices: list[int]


class Quota(NamedTuple):
    """A row got the provider's ``insufficient_quota``."""

    message: str


class Unavailable(NamedTuple):
    """A row met a provider that cannot serve the run: ``kind`` ``"auth"`` (the key was
    refused, 401/403) or ``"unreachable"`` (no connection, and no call of the run succeeded
    yet). The row was given back unfinished."""

    kind: str
    message: str


class Pong(NamedTuple):
    """The answer to :class:`Ping` (``seq`` -1: the last one, sent on exit) with the
    worker's counters."""

    seq: int
    stats: dict[str, Any]


class Defer(NamedTuple):
    """``--via batch-api``: LLM calls the rows wait on, ``(request key, model, body)``, one
    per waiting call (identical ones too)."""

    calls: list[tuple[bytes, str, bytes]]


class Want(NamedTuple):
    """A worker budget needs ``tokens`` (``output`` of them for the answer) for one request,
    and would take ``more`` requests of ``each`` tokens (``each_output`` for the answer) if
    the global buckets hold them now."""

    budget_id: int
    key: BudgetId
    tokens: int
    output: int
    limit: LimitTuple | None
    more: int
    each: int
    each_output: int


class Give(NamedTuple):
    """An unused slice back (or a debt: negative); ``output`` of ``tokens`` are answer tokens."""

    key: BudgetId
    requests: int
    tokens: int
    output: int


class Observe(NamedTuple):
    """The provider's ``x-ratelimit-*`` headers as seen by a worker (the
    :class:`~fastcrew.limits.RateLimitSnapshot` fields, in order)."""

    key: BudgetId
    fields: tuple[Any, ...]
