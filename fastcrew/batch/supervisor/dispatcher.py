"""Dynamic dispatch: which rows go to which worker, and what happens to a lost worker's rows.

Pure bookkeeping — no processes, no I/O, no event loop — so it is tested on its own:

- Rows read from the input wait in a buffer; rows given back go out again first, in index
  order (``redispatch``).
- A worker says it has room (:meth:`Dispatcher.offer`); :meth:`Dispatcher.dispatch` answers
  every waiting worker, first come first served, with a chunk of at most ``chunk_size`` rows
  (and its room). A row is never handed out ``window`` or more rows past the first unwritten
  one (the ordered writer's :class:`OutputHead`), which bounds the reorder buffer.
- Each worker's rows in flight are kept per slot, in the order sent; a worker marks the rows
  it starts (:meth:`Dispatcher.started`). When a worker dies (:meth:`Dispatcher.lost`) all its
  rows go out again, and those it had started are counted as **re-paid** (their LLM calls may
  have been made and are made again); rows it never started cost nothing twice.
- After :meth:`Dispatcher.stop` nothing is handed out and nothing is re-queued: the rows not
  finished run again on resume.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..storage.inputs import RawRow
from .events import RowTask

__all__ = ["Dispatcher", "Lost", "OutputHead"]

LOW_WATER = 1024
"""Below this many buffered rows the dispatcher asks for more input."""


class OutputHead(Protocol):
    """The ordered writer as the dispatcher sees it."""

    @property
    def next(self) -> int:
        """The first row index not yet written."""
        ...

    def flush(self) -> int:
        """Write every row that is ready; returns how many were written."""
        ...


@dataclass(slots=True, frozen=True)
class Lost:
    """What a lost worker held: rows handed back to the queue, and how many had started."""

    rows: int
    repaid: int


class Dispatcher:
    """Hands out rows in chunks within the reorder window; tracks them until they finish."""

    def __init__(
        self,
        *,
        chunk_size: int,
        window: int,
        head: OutputHead,
        skip: Callable[[int], bool] = lambda _: False,
        attempts: Callable[[int], int] = lambda _: 1,
        on_oversize: Callable[[RawRow], bool] = lambda _: True,
        admit: Callable[[int], bool] | None = None,
    ) -> None:
        """``skip(index)``: the row is done already (resume); ``attempts(index)``: its attempt
        number; ``on_oversize(row)`` records a row over the size limit and returns whether
        dispatch may go on (False: the run is stopping); ``admit(in_flight)``: whether one
        more row may go out with ``in_flight`` out already (``--max-cost``; None: always)."""
        self.chunk_size = chunk_size
        self.window = window
        self.head = head
        self.skip = skip
        self.attempts = attempts
        self.on_oversize = on_oversize
        self.admit = admit
        self.held = False
        """The last dispatch kept a row back (``admit`` said no)."""
        self.buffer: deque[RawRow] = deque()
        self.redispatch: deque[RowTask] = deque()
        self.inflight: dict[int, dict[int, RowTask]] = {}
        self.room: dict[int, int] = {}
        self.waiting: deque[int] = deque()
        self.eof = False
        self.stopped = False
        self.dispatched = 0
        self.redispatched = 0
        self.repaid = 0
        self.skipped = 0

    # -- input ---------------------------------------------------------------------------

    def add(self, rows: list[RawRow], *, eof: bool) -> None:
        """Rows read from the input (``eof``: there are no more)."""
        self.buffer.extend(rows)
        self.eof = eof

    def needs_input(self) -> bool:
        """Whether more input should be read now."""
        return not self.eof and not self.stopped and len(self.buffer) < LOW_WATER

    # -- handing out -----------------------------------------------------------------------

    def offer(self, slot: int, rows: int) -> None:
        """The worker in ``slot`` has room for ``rows`` rows (its latest offer counts)."""
        if slot not in self.room or not self.room[slot]:
            self.waiting.append(slot)
        self.room[slot] = rows

    def dispatch(self) -> list[tuple[int, list[RowTask]]]:
        """Chunks for the waiting workers, first come first served, as ``(slot, rows)``."""
        out: list[tuple[int, list[RowTask]]] = []
        self.held = False
        if self.stopped:
            return out
        waiting = self.waiting
        room = self.room
        while waiting:
            slot = waiting[0]
            free = room.get(slot, 0)
            if free <= 0:
                waiting.popleft()
                continue
            chunk = self._take(min(free, self.chunk_size))
            if not chunk:
                break
            waiting.popleft()
            room[slot] = 0
            table = self.inflight.setdefault(slot, {})
            for task in chunk:
                table[task.row.index] = task
            self.dispatched += len(chunk)
            out.append((slot, chunk))
        return out

    def _take(self, limit: int) -> list[RowTask]:
        out: list[RowTask] = []
        redispatch = self.redispatch
        buffer = self.buffer
        head = self.head
        admit = self.admit
        while len(out) < limit and not self.stopped:
            if redispatch:
                if admit is not None and not admit(self.in_flight() + len(out)):
                    self.held = True
                    break
                out.append(redispatch.popleft())
                continue
            if not buffer:
                break
            row = buffer[0]
            if self.skip(row.index):
                buffer.popleft()
                self.skipped += 1
                continue
            if row.index >= head.next + self.window:
                head.flush()
                if row.index >= head.next + self.window:
                    break
            if admit is not None and row.raw is not None and not admit(self.in_flight() + len(out)):
                self.held = True
                break
            buffer.popleft()
            if row.raw is None:
                if not self.on_oversize(row):
                    break
                continue
            out.append(RowTask(row, self.attempts(row.index)))
        return out

    # -- what workers report -----------------------------------------------------------------

    def started(self, slot: int, indices: list[int]) -> None:
        """The worker began running these rows."""
        table = self.inflight.get(slot)
        if table:
            for index in indices:
                task = table.get(index)
                if task is not None:
                    task.started = True

    def finished(self, slot: int, index: int) -> RowTask | None:
        """A row came back finished; None if it was not in flight there (already lost)."""
        table = self.inflight.get(slot)
        return table.pop(index, None) if table else None

    def returned(self, slot: int, indices: list[int]) -> int:
        """Rows given back unfinished (a drain); they go out again unless stopping."""
        table = self.inflight.get(slot)
        if not table:
            return 0
        back = [task for i in indices if (task := table.pop(i, None)) is not None]
        self._requeue(back)
        return len(back)

    def lost(self, slot: int) -> Lost:
        """The worker in ``slot`` is gone: its rows go out again (unless stopping); those it
        had started are counted as re-paid."""
        self.room.pop(slot, None)
        table = self.inflight.pop(slot, None)
        if not table:
            return Lost(0, 0)
        tasks = list(table.values())
        repaid = sum(1 for task in tasks if task.started)
        self.repaid += repaid
        self._requeue(tasks)
        return Lost(len(tasks), repaid)

    def _requeue(self, tasks: list[RowTask]) -> None:
        if self.stopped or not tasks:
            return
        for task in tasks:
            task.started = False
        self.redispatched += len(tasks)
        merged = sorted([*self.redispatch, *tasks], key=lambda task: task.row.index)
        self.redispatch = deque(merged)

    def stop(self) -> None:
        """Hand out nothing more; rows given back or lost from now on are not re-queued."""
        self.stopped = True
        self.redispatch.clear()

    # -- state ---------------------------------------------------------------------------

    def in_flight(self) -> int:
        """Rows handed to workers and not back yet."""
        return sum(len(table) for table in self.inflight.values())

    @property
    def drained(self) -> bool:
        """Every row read was handed out and came back (nothing buffered or re-queued)."""
        return self.eof and not self.buffer and not self.redispatch and self.in_flight() == 0
