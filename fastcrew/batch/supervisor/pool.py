"""Worker pools: the :class:`WorkerPool` interface a backend implements, and the local one.

A pool owns the workers — starting them, watching them, replacing the dead — and nothing about rows:
it reports what its workers say as typed events (:mod:`~fastcrew.batch.supervisor.events`) to the
supervisor's sink, and carries the supervisor's commands to them. :class:`ProcessPool` runs each
worker as a local process (:class:`~fastcrew.batch.supervisor.worker_process.WorkerProcess`): fixed
slots, a fresh process in a slot whose worker died (at most ``max_restarts`` times per slot), and
ping/pong liveness. What another backend (e.g. Ray actors) must provide is written in docs/batch.md.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol, Self

from ..config import BatchConfig, WorkerConfig
from ..wire.messages import Drain, Ping, Stop
from .events import RowTask, WorkerExited, WorkerFailedToStart, WorkerHung
from .worker_process import Launcher, Sink, WorkerProcess, launch_local

__all__ = ["STARTUP_TIMEOUT_S", "STOP_WAIT_S", "ProcessPool", "Sink", "WorkerPool"]

STARTUP_TIMEOUT_S = 120.0
"""A worker that has not built its crew after this long (silent) is taken for hung."""
STOP_WAIT_S = 10.0
"""How long :meth:`ProcessPool.close` waits for workers to exit after ``stop``."""


class WorkerPool(Protocol):
    """What the supervisor needs from a set of workers (see docs/batch.md, "Backends").

    Events go to the sink given to :meth:`run`, called on the supervisor's loop, one at a
    time, each worker's in the order it sent them, its :class:`WorkerExited` last. An
    exception the sink raises (a storage error) must propagate out of :meth:`run`.
    """

    size: int
    """Worker slots (slot numbers are ``0 .. size-1``)."""

    async def run(self, sink: Sink) -> None:
        """Start every worker and serve them until :meth:`close` has stopped them all."""
        ...

    def send_rows(self, slot: int, tasks: list[RowTask]) -> None:
        """Hand rows to the worker in ``slot`` (only after it offered room)."""
        ...

    def send(self, slot: int, message: tuple[Any, ...]) -> None:
        """A lease-protocol message (``grant``, ``pause``, ``limited``) to one worker."""
        ...

    def drain(self) -> None:
        """Every worker finishes the rows it runs, gives back the rest, starts none."""
        ...

    def stop_replacing(self) -> None:
        """From now on a worker that dies is not replaced."""
        ...

    def kill_all(self) -> None:
        """Stop every worker at once (rows in flight are lost; the journal has the rest)."""
        ...

    async def close(self) -> None:
        """Stop every worker (bounded), replace none; :meth:`run` returns after this."""
        ...


class ProcessPool:
    """Local worker processes, one per slot, replaced when they die."""

    def __init__(
        self,
        size: int,
        config: WorkerConfig,
        *,
        max_restarts: int,
        ping_interval: float,
        ping_timeout: float,
        launcher: Launcher = launch_local,
    ) -> None:
        """``launcher`` starts a slot's worker (default: a local process; another backend
        passes its own, e.g. one placing a Ray actor and connecting a socket to it)."""
        self.size = size
        self.launcher = launcher
        self.config = config
        self.max_restarts = max_restarts
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.workers: list[WorkerProcess | None] = [None] * size
        self.replacing = True
        self.closing = False
        self._sink: Sink = lambda _: None
        self._group: asyncio.TaskGroup | None = None
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._liveness_task: asyncio.Task[None] | None = None

    @classmethod
    def for_run(cls, config: BatchConfig, worker: WorkerConfig, **extra: Any) -> Self:
        """A pool of ``config.workers`` slots with the run's restart and liveness settings
        (``extra``: the launcher, or a subclass's own arguments)."""
        return cls(
            config.workers,
            worker,
            max_restarts=config.max_restarts,
            ping_interval=config.ping_interval,
            ping_timeout=config.ping_timeout,
            **extra,
        )

    async def run(self, sink: Sink) -> None:
        self._sink = sink
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                for slot in range(self.size):
                    self._start(slot, 0)
                self._liveness_task = group.create_task(self._liveness())
        finally:
            self._group = None
            self.closing = True
            for worker in self.workers:  # cancelled (a sink error): no process outlives us
                if worker is not None and worker.alive:
                    worker.kill()
                    await worker.reap()

    def _start(self, slot: int, restarts: int) -> None:
        assert self._group is not None
        worker = self.workers[slot] = WorkerProcess(slot, restarts, self.config)
        self._tasks[slot] = self._group.create_task(self._serve(worker))

    async def _serve(self, worker: WorkerProcess) -> None:
        try:
            await worker.start(self.launcher)
        except Exception as exc:
            self._sink(
                WorkerFailedToStart(
                    worker.slot, type(exc).__name__, f"worker {worker.slot} did not start: {exc}"
                )
            )
        else:
            if self.closing:
                worker.kill()
            else:
                await worker.serve(self._sink)
        code = await worker.reap()
        unexpected = not self.closing
        replace = unexpected and self.replacing and worker.restarts < self.max_restarts
        gave_up = unexpected and self.replacing and not replace
        self._sink(
            WorkerExited(
                worker.slot,
                worker.pid,
                code,
                worker.restarts,
                replaced=replace,
                gave_up=gave_up,
                unexpected=unexpected,
            )
        )
        if replace and self.replacing and not self.closing and self._group is not None:
            self._start(worker.slot, worker.restarts + 1)

    async def _liveness(self) -> None:
        """Ping every worker each ``ping_interval``; kill one silent for ``ping_timeout``
        (``STARTUP_TIMEOUT_S`` while it builds its crew). A tick much later than planned
        means this process itself was stopped (SIGSTOP, a suspended laptop) or starved:
        the workers' silence is then counted from now, not held against them."""
        loop = asyncio.get_running_loop()
        interval = self.ping_interval
        seq = 0
        last = loop.time()
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            stalled = now - last > 2 * interval + 0.5
            last = now
            seq += 1
            for worker in self.workers:
                if worker is None or not worker.alive or worker.channel is None:
                    continue
                if stalled:
                    worker.last_seen = max(worker.last_seen, now)
                silent = now - worker.last_seen
                limit = self.ping_timeout if worker.hello else STARTUP_TIMEOUT_S
                if silent > limit:
                    self._sink(WorkerHung(worker.slot, worker.pid, silent))
                    worker.kill()
                else:
                    worker.send(Ping(seq))

    # -- commands ------------------------------------------------------------------------

    def send_rows(self, slot: int, tasks: list[RowTask]) -> None:
        worker = self.workers[slot]
        if worker is not None:
            worker.send_rows(tasks)

    def send(self, slot: int, message: tuple[Any, ...]) -> None:
        worker = self.workers[slot] if 0 <= slot < self.size else None
        if worker is not None:
            worker.send(message)

    def drain(self) -> None:
        for worker in self.workers:
            if worker is not None:
                worker.send(Drain())

    def stop_replacing(self) -> None:
        self.replacing = False

    def kill_all(self) -> None:
        self.replacing = False
        for worker in self.workers:
            if worker is not None:
                worker.kill()

    async def close(self) -> None:
        self.replacing = False
        self.closing = True
        if self._liveness_task is not None:
            self._liveness_task.cancel()
        for worker in self.workers:
            if worker is None or not worker.alive:
                continue
            if worker.hello:
                worker.send(Stop())
            else:
                worker.kill()  # still building its crew: it holds no rows
        pending = [task for task in self._tasks.values() if not task.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=STOP_WAIT_S)
            if late:
                self.kill_all()
                await asyncio.wait(late, timeout=STOP_WAIT_S)
