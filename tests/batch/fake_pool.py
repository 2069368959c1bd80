"""A fake :class:`~fastcrew.batch.supervisor.pool.WorkerPool` for supervisor tests: no processes.

Its "workers" are scripted by the test. Each script step (:meth:`FakePool.up`,
:meth:`FakePool.finish`, :meth:`FakePool.die`, ...) hands the events a real worker (and
:class:`~fastcrew.batch.supervisor.pool.ProcessPool`) would send to the supervisor's sink, at
once, on the test's (= the supervisor's) loop — so any interleaving is reached exactly, with
no timing involved. The supervisor's commands (``send_rows``, ``send``, ``drain``,
``kill_all``, ...) are recorded, and every breach of the pool contract the supervisor makes
(rows to a worker that did not offer room, more rows than offered, rows to a dead worker) is
kept in :attr:`FakePool.violations` for the test to assert empty.

Deaths follow ``ProcessPool``'s rules: a worker that exits while the pool is not closing is
``unexpected``; it is ``replaced`` while replacing is on and its slot has restarts left
(``max_restarts``), else ``gave_up``. A replacement is a fresh, not yet up, worker in the slot.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastcrew.batch.rows import OK
from fastcrew.batch.supervisor.events import (
    BudgetMessage,
    QuotaExhausted,
    RoomFor,
    RowsFinished,
    RowsReturned,
    RowsStarted,
    RowTask,
    WorkerEvent,
    WorkerExited,
    WorkerFailedToStart,
    WorkerHung,
    WorkerStats,
    WorkerUp,
)
from fastcrew.batch.wire.messages import Give, Observe, Pause, RowResult, Want

__all__ = ["FakePool", "FakeWorker", "answer"]

Sink = Callable[[WorkerEvent], None]


def answer(task: RowTask, slot: int) -> bytes:
    """The output row a fake worker writes for ``task``: its index, its input, who ran it."""
    assert task.row.raw is not None
    return json.dumps(
        {
            "index": task.index,
            "status": "ok",
            "input": json.loads(task.row.raw),
            "attempts": task.attempts,
            "slot": slot,
        }
    ).encode()


@dataclass
class FakeWorker:
    """One scripted worker in a slot."""

    slot: int
    restarts: int
    pid: int
    up: bool = False
    exited: bool = False
    draining: bool = False
    room: int = 0
    """Room it offered and the supervisor has not filled yet."""
    held: dict[int, RowTask] = field(default_factory=dict)
    """Rows it was sent and has not answered, in the order sent."""
    started: set[int] = field(default_factory=set)
    chunks: list[list[RowTask]] = field(default_factory=list)
    """Every chunk it was sent."""
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    """Lease messages (grant, pause, limited) it was sent."""

    def unstarted(self) -> list[int]:
        """Held rows it has not started, in the order sent."""
        return [i for i in self.held if i not in self.started]


class FakePool:
    """An in-process :class:`~fastcrew.batch.supervisor.pool.WorkerPool` driven by the test."""

    def __init__(self, size: int, *, max_restarts: int = 3) -> None:
        self.size = size
        self.max_restarts = max_restarts
        self.replacing = True
        self.closing = False
        self.killed = False
        self.drained = False
        self._pids = 1000
        self.workers: list[FakeWorker] = [self._new(slot, 0) for slot in range(size)]
        self.retired: list[FakeWorker] = []
        """Workers that exited, oldest first."""
        self.violations: list[str] = []
        """Breaches of the pool contract by the supervisor: rows to a worker not up or
        draining, more rows than offered, a row held twice or sent after it finished."""
        self.finished: set[int] = set()
        """Rows some worker finished."""
        self.commands: list[str] = []
        """``drain``, ``stop_replacing``, ``kill_all``, ``close`` in the order received."""
        self._sink: Sink | None = None
        self.running = asyncio.Event()
        """Set once the supervisor called :meth:`run`."""
        self._closed = asyncio.Event()

    def _new(self, slot: int, restarts: int) -> FakeWorker:
        self._pids += 1
        return FakeWorker(slot, restarts, self._pids)

    # -- the WorkerPool protocol (called by the supervisor) ------------------------------

    async def run(self, sink: Sink) -> None:
        self._sink = sink
        self.running.set()
        await self._closed.wait()

    def send_rows(self, slot: int, tasks: list[RowTask]) -> None:
        worker = self.workers[slot]
        indices = [t.index for t in tasks]
        if not worker.up or worker.exited:
            self.violations.append(f"rows {indices} sent to worker {slot}, which is not up")
        elif len(tasks) > worker.room:
            self.violations.append(
                f"{len(tasks)} rows {indices} sent to worker {slot}, which offered {worker.room}"
            )
        if worker.draining:
            self.violations.append(f"rows {indices} sent to worker {slot} while it drains")
        worker.room = max(0, worker.room - len(tasks))
        worker.chunks.append(list(tasks))
        for task in tasks:
            holders = [w.slot for w in self.workers if not w.exited and task.index in w.held]
            if holders:
                self.violations.append(f"row {task.index} sent to {slot}, held by {holders}")
            if task.index in self.finished:
                self.violations.append(f"row {task.index} sent to {slot} after it finished")
            worker.held[task.index] = task

    def send(self, slot: int, message: tuple[Any, ...]) -> None:
        self.workers[slot].messages.append(message)

    def drain(self) -> None:
        self.commands.append("drain")
        self.drained = True
        for worker in self.workers:
            worker.draining = True

    def stop_replacing(self) -> None:
        self.commands.append("stop_replacing")
        self.replacing = False

    def kill_all(self) -> None:
        """Killed workers exit (with their rows) when the supervisor closes the pool."""
        self.commands.append("kill_all")
        self.replacing = False
        self.killed = True

    async def close(self) -> None:
        self.commands.append("close")
        self.replacing = False
        self.closing = True
        for worker in self.workers:
            if not worker.exited:
                self._exit(worker, 0 if not self.killed else -9)
        self._closed.set()

    # -- script steps (called by the test) ------------------------------------------------

    @property
    def sink(self) -> Sink:
        """The supervisor's sink (once :meth:`run` was called)."""
        assert self._sink is not None, "the supervisor has not started the pool yet"
        return self._sink

    def up(self, slot: int, room: int | None = None) -> FakeWorker:
        """The slot's worker built its crew (``WorkerUp``), then offers ``room`` rows."""
        worker = self.workers[slot]
        assert not worker.up, f"worker {slot} is up already"
        assert not worker.exited, f"worker {slot} exited"
        worker.up = True
        worker.draining = self.drained
        self.sink(WorkerUp(slot, worker.pid, {"total_s": 0.1}))
        if room is not None:
            self.offer(slot, room)
        return worker

    def offer(self, slot: int, room: int) -> None:
        """``RoomFor``: the worker has room for ``room`` rows (its latest offer counts)."""
        worker = self.live(slot)
        worker.room = room
        self.sink(RoomFor(slot, room))

    def start(self, slot: int, indices: list[int] | None = None) -> list[int]:
        """``RowsStarted`` for ``indices`` (default: every held row not started yet)."""
        worker = self.live(slot)
        chosen = worker.unstarted() if indices is None else indices
        self._check_held(worker, chosen)
        worker.started.update(chosen)
        if chosen:
            self.sink(RowsStarted(slot, chosen))
        return chosen

    def finish(
        self,
        slot: int,
        indices: list[int] | None = None,
        *,
        kind: int = OK,
        room: int | None = None,
    ) -> list[int]:
        """``RowsFinished`` for ``indices`` (default: every held row), in the order given;
        then ``room`` is offered (if given)."""
        worker = self.live(slot)
        chosen = list(worker.held) if indices is None else indices
        self._check_held(worker, chosen)
        results = []
        for index in chosen:
            task = worker.held.pop(index)
            worker.started.discard(index)
            results.append(RowResult(index, kind, answer(task, slot), 1, 10))
            self.finished.add(index)
        if results:
            self.sink(RowsFinished(slot, results))
        if room is not None:
            self.offer(slot, room)
        return chosen

    def give_back(self, slot: int, indices: list[int] | None = None) -> list[int]:
        """``RowsReturned`` (a drain, a quota): ``indices`` (default: the unstarted rows)."""
        worker = self.live(slot)
        chosen = worker.unstarted() if indices is None else indices
        self._check_held(worker, chosen)
        for index in chosen:
            del worker.held[index]
            worker.started.discard(index)
        if chosen:
            self.sink(RowsReturned(slot, chosen))
        return chosen

    def quota(
        self, slot: int, message: str = "insufficient_quota: you exceeded your quota"
    ) -> None:
        """``QuotaExhausted`` from the worker (its rows come back with :meth:`give_back`)."""
        self.sink(QuotaExhausted(self.live(slot).slot, message))

    def budget(self, slot: int, message: Want | Give | Pause | Observe) -> None:
        """A lease-protocol message from the worker."""
        self.sink(BudgetMessage(self.live(slot).slot, message))

    def stats(self, slot: int, stats: dict[str, Any]) -> None:
        """``WorkerStats`` (a pong)."""
        self.sink(WorkerStats(self.live(slot).slot, stats))

    def die(self, slot: int, exit_code: int = -9) -> WorkerExited:
        """The worker's process is gone (a crash, an OOM kill): ``WorkerExited``."""
        return self._exit(self.live(slot), exit_code)

    def hang(self, slot: int, silent_s: float = 31.0) -> WorkerExited:
        """The worker went silent; the pool's liveness check kills it (``WorkerHung``, then
        ``WorkerExited`` as for any death)."""
        worker = self.live(slot)
        self.sink(WorkerHung(slot, worker.pid, silent_s))
        return self._exit(worker, -9)

    def fail_to_start(self, slot: int, error: str = "ImportError", message: str = "") -> None:
        """The worker could not build its crew: ``WorkerFailedToStart``, then it exits."""
        worker = self.workers[slot]
        assert not worker.up, f"worker {slot} is up already"
        assert not worker.exited, f"worker {slot} exited"
        text = message or f"worker {slot} did not start: no module named 'crew'"
        self.sink(WorkerFailedToStart(slot, error, text))
        self._exit(worker, 1)

    def live(self, slot: int) -> FakeWorker:
        """The slot's current worker, which must be up."""
        worker = self.workers[slot]
        assert worker.up, f"worker {slot} is not up"
        assert not worker.exited, f"worker {slot} exited"
        return worker

    # -- internals -------------------------------------------------------------------------

    def _check_held(self, worker: FakeWorker, indices: list[int]) -> None:
        missing = [i for i in indices if i not in worker.held]
        assert not missing, f"worker {worker.slot} does not hold rows {missing}"

    def _exit(self, worker: FakeWorker, code: int) -> WorkerExited:
        """``WorkerExited`` with ``ProcessPool``'s replace/give-up rules."""
        worker.exited = True
        self.retired.append(worker)
        unexpected = not self.closing
        replace = unexpected and self.replacing and worker.restarts < self.max_restarts
        gave_up = unexpected and self.replacing and not replace
        event = WorkerExited(
            worker.slot,
            worker.pid,
            code,
            worker.restarts,
            replaced=replace,
            gave_up=gave_up,
            unexpected=unexpected,
        )
        if replace:
            self.workers[worker.slot] = self._new(worker.slot, worker.restarts + 1)
        self.sink(event)
        return event
