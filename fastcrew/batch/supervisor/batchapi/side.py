"""The supervisor's hook for ``--via batch-api``: workers' deferred calls in, answers out."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from typing import Any

from ....llm.batch_api import BatchAPI
from ...config import BatchConfig
from ...wire.messages import Answers
from ..dispatcher import Dispatcher
from ..events import CallsDeferred, WorkerExited, WorkerFailedToStart, WorkerUp
from .rounds import Answer, BatchRounds, RoundSettings

__all__ = ["DEFAULT_BASE_URL", "DeferredCalls", "forget"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class DeferredCalls:
    """The rows' LLM calls of a run, sent as Batch-API jobs to ``base_url`` (the run's
    endpoint: ``--base-url``, the simulator's, else ``$OPENAI_BASE_URL``, else OpenAI's) with
    ``--api-key`` / ``$OPENAI_API_KEY``; ``send(slot, message)`` reaches a worker;
    ``slots``: the workers (each runs ``--concurrency`` rows at once); the first round waits
    for those still starting."""

    def __init__(
        self,
        config: BatchConfig,
        base_url: str | None,
        send: Callable[[int, Any], None],
        dispatcher: Dispatcher,
        slots: int,
    ) -> None:
        self.dispatcher = dispatcher
        self.slots = slots
        self.starting = set(range(slots))
        """Slots whose worker is starting: not up, not failed to start, not gone for good."""
        self.concurrency = config.concurrency
        env = os.environ
        url = base_url or env.get("OPENAI_BASE_URL") or env.get("OPENAI_API_BASE")
        api = BatchAPI(url or DEFAULT_BASE_URL, config.api_key or env.get("OPENAI_API_KEY"))
        settings = RoundSettings(
            max_requests=config.batch_api_max_requests,
            idle=config.batch_api_idle,
            poll=config.batch_api_poll,
        )

        if config.restart:  # start over: earlier jobs and answers are forgotten
            forget(config.batch_api_path)

        def deliver(slot: Any, answers: list[Answer]) -> None:
            send(slot, Answers(answers))

        self.rounds = BatchRounds(
            api, config.batch_api_path, settings, send=deliver, active_rows=self.active_rows,
            starting=lambda: len(self.starting),
        )  # fmt: skip

    def active_rows(self) -> int:
        """Rows that are running or about to: in each worker up to ``--concurrency`` of its
        rows (the rest queue there until a row ends, asking nothing), plus rows not handed
        out yet while a worker has room — a round waits for their first calls too."""
        d = self.dispatcher
        limit = self.concurrency
        running = free = 0
        for slot in range(self.slots):
            held = len(d.inflight.get(slot, ()))
            running += min(held, limit)
            free += max(limit - held, 0)
        coming = len(d.buffer) + len(d.redispatch) + (0 if d.eof or d.stopped else 1)
        return running + min(coming, free)

    def hook(self, handlers: dict[type, Callable[[Any], None]]) -> None:
        """Take the supervisor's :class:`CallsDeferred` events, and hear of workers up,
        failed to start, or gone (before the supervisor's own handlers)."""
        _before(handlers, WorkerUp, lambda event: self.started(event.slot))
        _before(handlers, WorkerFailedToStart, lambda event: self.started(event.slot))
        _before(handlers, WorkerExited, lambda event: self.worker_gone(event.slot, event.replaced))
        handlers[CallsDeferred] = lambda event: self.deferred(event.slot, event.calls)

    def deferred(self, slot: int, calls: list[tuple[bytes, str, bytes]]) -> None:
        """A worker's rows wait on these calls."""
        defer = self.rounds.defer
        for key, model, body in calls:
            defer(slot, key, model, body)

    def started(self, slot: int) -> None:
        """The worker in ``slot`` is up, or failed to start: it is not starting any more."""
        self.starting.discard(slot)

    def worker_gone(self, slot: int, replaced: bool) -> None:
        """The worker in ``slot`` died: its rows run again elsewhere and ask again (and
        ``replaced``: a fresh worker is starting in the slot)."""
        self.rounds.forget(slot)
        if replaced:
            self.starting.add(slot)
        else:
            self.starting.discard(slot)

    async def run(self) -> None:
        """Resume left jobs, send rounds (until cancelled)."""
        await self.rounds.run()

    def line(self) -> str:
        """The progress fragment: round, calls pending and waited on, job states."""
        p = self.rounds.progress()
        jobs = ", ".join(f"{n} {status}" for status, n in sorted(p["jobs"].items()))
        return (
            f"batch api: round {p['round']}, {p['pending']:,} pending, {p['waiting']:,} "
            f"waiting, jobs: {jobs or 'none'}"
        )

    def summary(self) -> dict[str, Any]:
        """The summary's ``batch_api`` object."""
        return self.rounds.summary()

    def close(self) -> None:
        """Close the journal and the answer store."""
        self.rounds.close()


def _before(
    handlers: dict[type, Callable[[Any], None]], kind: type, first: Callable[[Any], None]
) -> None:
    """``handlers[kind]`` calls ``first(event)``, then what it called before."""
    then = handlers[kind]

    def both(event: Any) -> None:
        first(event)
        then(event)

    handlers[kind] = both


def forget(base: str) -> None:
    """Remove the Batch-API files of an output: the journal, the answers, the request files."""
    for path in (base, base + ".sqlite", base + ".sqlite-wal", base + ".sqlite-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
    shutil.rmtree(base + ".d", ignore_errors=True)
