"""Deferred LLM calls collected into rounds of Batch-API jobs, answers fanned back out.

Rows' calls arrive as ``defer(waiter, key, model, body)``. A call whose answer is stored is
answered at once; a call identical to one pending or in a job waits for that one (one paid
request, the answer fanned out); any other is pending. A **round** goes out when

- every active row waits on a call (calls waited on ≥ ``active_rows()``) and has for
  ``settle`` seconds (rows just handed to a worker have not asked yet), or
- ``max_requests`` calls or ``max_bytes`` of bodies are pending, or
- no call came for ``idle`` seconds, or the oldest pending call is ``max_wait`` seconds old,

as one job (request file, batch) per model and per ``max_requests`` / ``max_bytes``. Each job
is journaled before it costs anything (:mod:`.journal`), answers are stored before its
``done`` record (:mod:`.store`), and requests that failed (429, 5xx, expired, cancelled, a
failed batch) go into a later round, at most ``max_attempts`` times; then their rows get the
error.

The first round also waits for the workers still starting (``starting()`` > 0; their rows
will ask too): until they are up (or failed to start, or gone) only the size and
``max_wait`` triggers apply, and the ``settle`` and ``idle`` clocks start when the last is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from ...._json import dumps, loads
from ....llm.batch_api import BatchAPI
from .job import JobOutcome, JobRunner, request_keys
from .journal import JobRecord, RoundJournal
from .store import AnswerStore

__all__ = ["BatchRounds", "RoundSettings"]

Answer = tuple[bytes, int, bytes]
Waiter = Hashable


@dataclass(frozen=True, slots=True)
class RoundSettings:
    """When rounds go out, how jobs are polled, how often a request is tried."""

    max_requests: int = 50_000
    max_bytes: int = 190 * 1024 * 1024  # under OpenAI's 200 MB per input file
    idle: float = 2.0
    settle: float = 0.3
    max_wait: float = 300.0
    poll: float = 10.0
    max_poll: float = 60.0
    max_attempts: int = 3
    url: str = "/v1/chat/completions"


class BatchRounds:
    """The supervisor's side of ``--via batch-api`` (see the module docstring).

    Files: ``<base>`` (the journal), ``<base>.d/`` (request files of jobs not done),
    ``<base>.sqlite`` (the answers). ``send(waiter, answers)`` delivers; ``active_rows()``
    is how many rows are running now; ``starting()`` how many workers are still starting.
    """

    def __init__(
        self,
        api: BatchAPI,
        base: str,
        settings: RoundSettings,
        *,
        send: Callable[[Any, list[Answer]], None],
        active_rows: Callable[[], int],
        starting: Callable[[], int] = lambda: 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.send = send
        self.active_rows = active_rows
        self.starting = starting
        self.clock = clock
        self.dir = base + ".d"
        os.makedirs(self.dir, exist_ok=True)
        self.journal = RoundJournal(base)
        self.store = AnswerStore(base + ".sqlite")
        self.runner = JobRunner(
            api, self.journal, self.store, poll=settings.poll, max_poll=settings.max_poll,
            on_answers=self._deliver, on_state=self._on_state,
        )  # fmt: skip
        self.round = self.journal.rounds
        self.pending: dict[bytes, tuple[str, bytes]] = {}
        self.pending_bytes = 0
        self.pending_since = 0.0
        self.waiters: dict[bytes, list[Waiter]] = {}
        self.waiting = 0
        self.in_flight: dict[bytes, int] = {}
        self.attempts: dict[bytes, int] = {}
        self.job_states: dict[int, str] = {}
        self.stuck: dict[int, str] = {}
        """Jobs whose batch exists but could not be read (a refused key): why."""
        self.counts = {
            "rounds": 0, "jobs": 0, "requests": 0, "answered": 0, "deduped": 0,
            "store_hits": 0, "retried": 0, "failed": 0, "resumed_jobs": 0,
        }  # fmt: skip
        self._last_defer = clock()
        self._all_waiting: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stored: int | None = None

    # -- calls in ------------------------------------------------------------------------

    def defer(self, waiter: Waiter, key: bytes, model: str, body: bytes) -> None:
        """A row of ``waiter`` waits for the answer to ``body`` (``key``: its request key)."""
        self._last_defer = self.clock()
        stored = self.store.get(key)
        if stored is not None:
            self.counts["store_hits"] += 1
            self.send(waiter, [(key, *stored)])
            return
        number = self.in_flight.get(key)
        if number is not None and number in self.stuck:
            self.send(waiter, [(key, 503, _error(self.stuck[number]))])
            return
        waiting = self.waiters.get(key)
        if waiting is not None:
            self.counts["deduped"] += 1
            waiting.append(waiter)
        else:
            self.waiters[key] = [waiter]
            if key in self.in_flight:
                self.counts["deduped"] += 1
            elif key not in self.pending:
                self._add_pending(key, model, body)
        self.waiting += 1
        if self._due():
            self.flush()

    def forget(self, waiter: Waiter) -> None:
        """``waiter`` is gone (a dead worker): its rows wait no more."""
        for key in list(self.waiters):
            left = [w for w in self.waiters[key] if w != waiter]
            self.waiting -= len(self.waiters[key]) - len(left)
            if left:
                self.waiters[key] = left
            else:
                del self.waiters[key]

    def _add_pending(self, key: bytes, model: str, body: bytes) -> None:
        if not self.pending:
            self.pending_since = self.clock()
        self.pending[key] = (model, body)
        self.pending_bytes += len(body) + 100

    # -- rounds --------------------------------------------------------------------------

    def _due(self) -> bool:
        if not self.pending:
            return False
        s = self.settings
        if len(self.pending) >= s.max_requests or self.pending_bytes >= s.max_bytes:
            return True
        now = self.clock()
        if now - self.pending_since >= s.max_wait:
            return True
        if self._workers_starting(now):
            return False
        if self.waiting >= max(self.active_rows(), 1):
            if self._all_waiting is None:
                self._all_waiting = now
            if now - self._all_waiting >= s.settle:
                return True
        else:
            self._all_waiting = None
        return now - self._last_defer >= s.idle

    def _workers_starting(self, now: float) -> bool:
        """Before the first round: whether workers are still starting (the ``settle`` and
        ``idle`` clocks then restart at ``now``)."""
        if self.counts["rounds"] or not self.starting():
            return False
        self._all_waiting = None
        self._last_defer = now
        return True

    def flush(self) -> None:
        """Send every pending call now: one round of jobs."""
        if not self.pending:
            return
        self.round += 1
        self.counts["rounds"] += 1
        self._all_waiting = None
        by_model: dict[str, list[tuple[bytes, bytes]]] = defaultdict(list)
        for key, (model, body) in self.pending.items():
            by_model[model].append((key, body))
        self.pending = {}
        self.pending_bytes = 0
        s = self.settings
        for model, calls in by_model.items():
            start = 0
            while start < len(calls):
                size, end = 0, start
                while end < len(calls) and end - start < s.max_requests:
                    size += len(calls[end][1]) + 100
                    if size > s.max_bytes and end > start:
                        break
                    end += 1
                self._start_job(model, calls[start:end])
                start = end

    def _start_job(self, model: str, calls: list[tuple[bytes, bytes]]) -> None:
        number = self.journal.next_job()
        path = os.path.join(self.dir, f"job-{number}.jsonl")
        url = self.settings.url.encode()
        with open(path, "wb") as file:
            for key, body in calls:
                file.write(
                    b'{"custom_id":"%s","method":"POST","url":"%s","body":%s}\n'
                    % (key.hex().encode(), url, body)
                )
            file.flush()
            os.fsync(file.fileno())
        token = f"{secrets.token_hex(8)}-{number}"
        self.journal.append(
            {"t": "job", "job": number, "round": self.round, "token": token, "path": path,
             "model": model, "requests": len(calls), "at": time.time()}
        )  # fmt: skip
        for key, _ in calls:
            self.in_flight[key] = number
        self.counts["jobs"] += 1
        self.counts["requests"] += len(calls)
        self._spawn(self.journal.jobs[number])

    def _spawn(self, job: JobRecord) -> None:
        self.job_states[job.job] = "journaled"
        task = asyncio.get_running_loop().create_task(self._job(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _job(self, job: JobRecord) -> None:
        outcome = await self.runner.run(job)
        if not outcome.done:  # its batch exists but cannot be read: the next run resumes it
            self.stuck[job.job] = outcome.status
            keys = [key for key, number in self.in_flight.items() if number == job.job]
            self._give_up(keys, outcome.status)
            return
        self.job_states.pop(job.job, None)
        try:
            self._settle(job, outcome)
        finally:  # the request file is kept until now: a retry reads its bodies
            with contextlib.suppress(FileNotFoundError):
                os.remove(job.path)

    def _settle(self, job: JobRecord, outcome: JobOutcome) -> None:
        for key in [k for k, n in self.in_flight.items() if n == job.job]:
            del self.in_flight[key]
        if outcome.failed:
            self.counts["failed"] += len(outcome.failed)
            self._deliver(outcome.failed)
        again = [key for key in outcome.retry if key in self.waiters]
        if not again:
            return
        bodies = _bodies(job.path, set(again))
        given_up: list[bytes] = []
        for key in again:
            tries = self.attempts[key] = self.attempts.get(key, 1) + 1
            if tries > self.settings.max_attempts or key not in bodies:
                given_up.append(key)
            else:
                self.counts["retried"] += 1
                self._add_pending(key, job.model, bodies[key])
        self._give_up(given_up, f"batch request failed {self.settings.max_attempts} times")
        if self._due():
            self.flush()

    def _give_up(self, keys: list[bytes], why: str) -> None:
        """The rows waiting on ``keys`` get a 503 ``batch_failed`` error."""
        if keys:
            self.counts["failed"] += len(keys)
            self._deliver([(key, 503, _error(why)) for key in keys])

    def _deliver(self, answers: list[Answer]) -> None:
        out: dict[Waiter, list[Answer]] = defaultdict(list)
        for answer in answers:
            waiting = self.waiters.pop(answer[0], None)
            if waiting is None:
                continue
            self.waiting -= len(waiting)
            self.attempts.pop(answer[0], None)
            for waiter in dict.fromkeys(waiting):
                out[waiter].append(answer)
        self.counts["answered"] += sum(a[1] < 300 for a in answers)
        for waiter, batch in out.items():
            self.send(waiter, batch)

    def _on_state(self, job: JobRecord, status: str) -> None:
        self.job_states[job.job] = status

    # -- the task ------------------------------------------------------------------------

    async def run(self, tick: float = 0.05) -> None:
        """Resume the jobs a killed run left, then send rounds as they fall due (until
        cancelled: the jobs running are cancelled with it and resume on the next run)."""
        for job in self.journal.unfinished():
            self.counts["resumed_jobs"] += 1
            for key in request_keys(job.path):
                self.in_flight[key] = job.job
            self._spawn(job)
        try:
            while True:
                await asyncio.sleep(tick)
                if self._due():
                    self.flush()
        finally:
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(self._tasks)

    def progress(self) -> dict[str, Any]:
        """Round, calls pending and waited on, job states (for the progress line)."""
        states: dict[str, int] = defaultdict(int)
        for status in self.job_states.values():
            states[status] += 1
        return {"round": self.round, "pending": len(self.pending), "waiting": self.waiting,
                "in_flight": len(self.in_flight), "jobs": dict(states)}  # fmt: skip

    def summary(self) -> dict[str, Any]:
        """The run's figures for the summary."""
        stored = self._stored if self._stored is not None else len(self.store)
        return {**self.counts, "rounds_total": self.round, "stored": stored}

    def close(self) -> None:
        """Close the journal and the store (jobs not done resume on the next run)."""
        if self._stored is None:
            self._stored = len(self.store)
        self.journal.close()
        self.store.close()


def _error(message: str) -> bytes:
    return dumps({"error": {"message": message, "type": "server_error", "param": None,
                            "code": "batch_failed"}})  # fmt: skip


def _bodies(path: str, wanted: set[bytes]) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    with contextlib.suppress(FileNotFoundError), open(path, "rb") as file:
        for line in file:
            start = line.find(b'"custom_id":"') + 13
            key = bytes.fromhex(line[start : start + 32].decode())
            if key in wanted:
                found[key] = dumps(loads(line)["body"])
    return found
