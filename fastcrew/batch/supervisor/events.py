"""Typed messages between the batch supervisor's parts.

A worker pool (the local processes of :mod:`~fastcrew.batch.supervisor.pool`, or another
backend) turns what its workers say into these :data:`WorkerEvent` objects and hands them to the
supervisor's sink, one at a time, on the supervisor's loop; the supervisor answers with
:class:`RowTask` chunks and commands (drain, stop). Events carry the worker's slot; the wire
messages themselves (:mod:`~fastcrew.batch.wire.messages`) are the pool's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..storage.inputs import RawRow
from ..wire.messages import Give, Observe, Pause, RowResult, Want

__all__ = [
    "BudgetMessage",
    "CallsDeferred",
    "ProviderUnavailable",
    "QuotaExhausted",
    "RoomFor",
    "RowTask",
    "RowsFinished",
    "RowsReturned",
    "RowsStarted",
    "WorkerEvent",
    "WorkerExited",
    "WorkerFailedToStart",
    "WorkerHung",
    "WorkerStats",
    "WorkerUp",
    "death_message",
]


@dataclass(slots=True, eq=False)
class RowTask:
    """A row handed to a worker: the input row, its attempt number and whether the worker
    said it started running it (a started row that is lost with its worker is re-paid)."""

    row: RawRow
    attempts: int
    started: bool = False

    @property
    def index(self) -> int:
        """The row's position in the input."""
        return self.row.index


@dataclass(slots=True, frozen=True)
class WorkerUp:
    """The worker in ``slot`` built its crew (or flow) and takes rows. ``startup``: where
    its start-up time went (:mod:`~fastcrew.batch.startup`; None if it did not say)."""

    slot: int
    pid: int | None
    startup: dict[str, Any] | None = None


@dataclass(slots=True, frozen=True)
class WorkerFailedToStart:
    """The worker could not build its crew (or LLM): ``error`` is the exception's type name."""

    slot: int
    error: str
    message: str


@dataclass(slots=True, frozen=True)
class RoomFor:
    """The worker has room for ``rows`` more rows."""

    slot: int
    rows: int


@dataclass(slots=True, frozen=True)
class RowsStarted:
    """The worker is about to run these rows (sent before any of their LLM calls)."""

    slot: int
    indices: list[int]


@dataclass(slots=True, frozen=True)
class RowsFinished:
    """Finished rows."""

    slot: int
    results: list[RowResult]


@dataclass(slots=True, frozen=True)
class RowsReturned:
    """Rows the worker gives back unfinished (a drain, or the provider's quota ran out)."""

    slot: int
    indices: list[int]


@dataclass(slots=True, frozen=True)
class QuotaExhausted:
    """A row got the provider's ``insufficient_quota``."""

    slot: int
    message: str


@dataclass(slots=True, frozen=True)
class ProviderUnavailable:
    """A row met a provider that cannot serve the run (the row was given back): ``kind``
    ``"auth"`` (the key was refused) or ``"unreachable"`` (no connection before any call of
    the run succeeded)."""

    slot: int
    kind: str
    message: str


@dataclass(slots=True, frozen=True)
class WorkerStats:
    """The worker's counters (rows, calls, 429s, retries), with each pong."""

    slot: int
    stats: dict[str, Any]


@dataclass(slots=True, frozen=True)
class BudgetMessage:
    """A lease-protocol message for :class:`~fastcrew.batch.supervisor.budget.GlobalBudgets`."""

    slot: int
    message: Want | Give | Pause | Observe


@dataclass(slots=True, frozen=True)
class CallsDeferred:
    """``--via batch-api``: the worker in ``slot`` has rows waiting on these LLM calls
    (``(request key, model, body)``)."""

    slot: int
    calls: list[tuple[bytes, str, bytes]]


@dataclass(slots=True, frozen=True)
class WorkerHung:
    """The worker answered nothing for ``silent_s`` seconds; the pool is killing it."""

    slot: int
    pid: int | None
    silent_s: float


@dataclass(slots=True, frozen=True)
class WorkerExited:
    """The worker in ``slot`` is gone (a crash, a kill, or a stop). ``restarts``: how often
    the slot was restarted before; ``replaced``: a fresh worker was started in the slot;
    ``gave_up``: the slot's restart budget is spent; ``unexpected``: not a stop we asked for
    (a death the supervisor must handle)."""

    slot: int
    pid: int | None
    exit_code: int | None
    restarts: int
    replaced: bool
    gave_up: bool
    unexpected: bool


def death_message(event: WorkerExited, rows: int, repaid: int, max_restarts: int) -> str:
    """What the log says about an unexpected exit (``rows`` it held go out again, ``repaid``
    of them had started); with ``gave_up`` it is the run's stop message."""
    who = f"worker {event.slot} (pid {event.pid})"
    if event.replaced:
        return (
            f"{who} died (exit code {event.exit_code}); {rows} rows go out again "
            f"({repaid} had started: re-paid); replacing it"
        )
    if event.gave_up:
        return (
            f"worker {event.slot} died {event.restarts + 1} times (last exit code "
            f"{event.exit_code}); giving up after --max-restarts {max_restarts}"
        )
    return f"{who} died (exit code {event.exit_code}) while the run was stopping"


WorkerEvent = (
    WorkerUp
    | WorkerFailedToStart
    | RoomFor
    | RowsStarted
    | RowsFinished
    | RowsReturned
    | QuotaExhausted
    | ProviderUnavailable
    | WorkerStats
    | BudgetMessage
    | CallsDeferred
    | WorkerHung
    | WorkerExited
)
"""Everything a pool reports to the supervisor."""
