"""BatchRounds with a fake row source (tests/batch_api/chain.py): rounds, dedupe, retries,
the answer store — against `fastcrew sim` and the independent fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastcrew._json import dumps
from fastcrew.batch.config import BatchConfig
from fastcrew.batch.supervisor.batchapi import BatchRounds, RoundJournal, RoundSettings
from fastcrew.batch.supervisor.batchapi.side import DeferredCalls
from fastcrew.batch.supervisor.dispatcher import Dispatcher
from fastcrew.batch.supervisor.events import WorkerExited, WorkerFailedToStart, WorkerUp
from fastcrew.cache import request_key
from fastcrew.llm.batch_api import BatchAPI
from fastcrew.sim import serve

from .chain import FAST, MODEL, run_chain
from .fake_openai import FakeOpenAI


async def test_three_steps_are_three_rounds_on_the_simulator(tmp_path: Path) -> None:
    async with serve(batch_delay=0) as sim:
        answers, summary = await run_chain(sim.base_url, str(tmp_path / "o.batchapi"), 200, 3)
        stats = sim.stats()["batch"]
    assert summary["rounds"] == 3
    assert summary["jobs"] == 3
    assert summary["requests"] == 600 == stats["requests_completed"]
    assert stats["batches_created"] == 3
    assert all(text.startswith("Simulated answer") for text in answers.values())
    assert summary["deduped"] == 0
    assert summary["failed"] == 0
    journal = RoundJournal(str(tmp_path / "o.batchapi"))
    assert [job.done for job in journal.jobs.values()] == ["completed"] * 3
    assert not list((tmp_path / "o.batchapi.d").iterdir())  # request files removed when done


async def test_identical_calls_are_paid_once(tmp_path: Path) -> None:
    fake = await FakeOpenAI().start()
    try:
        answers, summary = await run_chain(
            fake.base_url, str(tmp_path / "o.batchapi"), 100, 2, distinct=10
        )
    finally:
        await fake.close()
    assert summary["requests"] == 20
    assert summary["deduped"] == 180
    assert max(fake.submitted.values()) == 1
    assert len(fake.submitted) == 20
    assert answers[3] == answers[13] == answers[93]


async def test_failed_and_expired_requests_go_to_a_later_round(tmp_path: Path) -> None:
    fake = await FakeOpenAI().start()
    base = str(tmp_path / "o.batchapi")
    try:
        fake.expire = {2}  # the second batch (step 2) expires whole
        answers, summary = await run_chain(fake.base_url, base, 20, 2)
    finally:
        await fake.close()
    # batch 2 (step 2) expired; its requests went again as batch 3
    assert summary["rounds"] == 3
    assert summary["retried"] == 20
    assert summary["failed"] == 0
    assert all(text.startswith("answer to: row") for text in answers.values())
    assert max(fake.submitted.values()) == 2  # the expired ones, once more


async def test_500_lines_are_retried_then_given_up(tmp_path: Path) -> None:
    async with serve(batch_delay=0, batch_fail_rate=0.3, seed=3) as sim:
        answers, summary = await run_chain(sim.base_url, str(tmp_path / "o.batchapi"), 100, 1)
    assert summary["retried"] > 0
    assert summary["rounds"] >= 2
    errors = [text for text in answers.values() if text.startswith("ERROR")]
    assert len(errors) == summary["failed"]  # tried 3 times: 0.3 ** 3 of them give up
    assert len(errors) < 10


async def test_a_rerun_is_answered_from_the_store(tmp_path: Path) -> None:
    base = str(tmp_path / "o.batchapi")
    async with serve(batch_delay=0) as sim:
        first, _ = await run_chain(sim.base_url, base, 50, 3)
        again, summary = await run_chain(sim.base_url, base, 50, 3)
        assert sim.stats()["batch"]["batches_created"] == 3
    assert again == first
    assert summary["requests"] == 0
    assert summary["store_hits"] == 150


async def test_transient_errors_are_waited_out_never_resubmitted(tmp_path: Path) -> None:
    """500s on upload, polling and download are retried; a create whose answer is lost (the
    batch was made) is found by its token: one batch per step, each request once."""
    fake = await FakeOpenAI().start()
    try:
        fake.errors.update(upload=2, create=1, retrieve=3, content=2)
        answers, summary = await run_chain(fake.base_url, str(tmp_path / "o.batchapi"), 10, 2)
    finally:
        await fake.close()
    assert not +fake.errors  # every error was served
    assert len(fake.batches) == 2
    assert set(fake.submitted.values()) == {1}
    assert summary["failed"] == 0
    assert all(text.startswith("answer to: row") for text in answers.values())


async def test_a_batch_that_cannot_be_read_is_resumed_not_resubmitted(tmp_path: Path) -> None:
    """A refused key while polling: the rows get errors, the job is not done, and the next
    run polls the same batch (the requests are never in a second one)."""
    fake = await FakeOpenAI().start()
    base = str(tmp_path / "o.batchapi")
    try:
        fake.refuse = {"retrieve"}
        first, summary = await run_chain(fake.base_url, base, 5, 1)
        assert set(first.values()) == {"ERROR 503"}
        assert summary["failed"] == 5
        fake.refuse = set()
        again, summary = await run_chain(fake.base_url, base, 5, 1)
    finally:
        await fake.close()
    assert summary["resumed_jobs"] == 1
    assert summary["requests"] == 0
    assert len(fake.batches) == 1
    assert all(text.startswith("answer to: row") for text in again.values())


class Clocked:
    """BatchRounds on the fake with a clock the test moves, ``starting`` workers the test
    sets and one active row; ``answered`` is set when answers come back."""

    def __init__(self, rounds: Callable[..., BatchRounds]) -> None:
        self.now = 0.0
        self.starting = 1
        self.answered = asyncio.Event()
        self.rounds = rounds(
            send=lambda _, __: self.answered.set(),
            active_rows=lambda: 1,
            starting=lambda: self.starting,
            clock=lambda: self.now,
        )

    def ask(self, n: int) -> None:
        """The row's call number ``n``."""
        body = {"model": MODEL, "messages": [{"role": "user", "content": f"call {n}"}]}
        self.rounds.defer("worker", request_key("fake", body), MODEL, dumps(body))

    async def round_answered(self) -> None:
        self.answered.clear()
        async with asyncio.timeout(30):
            await self.answered.wait()


@asynccontextmanager
async def clocked(tmp_path: Path, **settings: Any) -> AsyncIterator[Clocked]:
    fake = await FakeOpenAI().start()
    api = BatchAPI(fake.base_url, "sk-test")
    base = str(tmp_path / "o.batchapi")
    merged = RoundSettings(**{"idle": 0.5, "poll": 0.02, "max_poll": 0.1, **settings})
    test = Clocked(lambda **hooks: BatchRounds(api, base, merged, **hooks))
    try:
        yield test
    finally:
        test.rounds.close()
        await fake.close()


async def test_the_first_round_waits_for_the_workers_starting(tmp_path: Path) -> None:
    """Every active row waits and nothing came for long: no round while a worker starts;
    once it is up, settle and idle count from then. Later rounds do not wait for one."""
    async with clocked(tmp_path) as test:
        rounds = test.rounds
        test.ask(1)
        test.now = 100.0  # settle and idle long past
        assert not rounds._due()
        test.starting = 0  # the last worker is up: its rows may ask yet
        assert not rounds._due()
        test.now += FAST.settle / 2
        assert not rounds._due()
        test.now += 1.0
        assert rounds._due()
        rounds.flush()
        await test.round_answered()
        test.starting = 1  # a replacement starts: the second round does not wait for it
        test.ask(2)
        test.now += 1.0
        assert rounds._due()
        rounds.flush()
        await test.round_answered()
        assert rounds.summary()["rounds"] == 2


async def test_size_and_age_still_send_a_round_while_workers_start(tmp_path: Path) -> None:
    """A worker that never comes up does not hold the rounds back for ever."""
    async with clocked(tmp_path, max_requests=2, max_wait=300.0) as test:
        test.ask(1)
        test.now = 299.0
        assert not test.rounds._due()
        test.now = 300.0
        assert test.rounds._due()
        test.ask(2)  # a second pending call: max_requests, sent at once
        assert test.rounds.summary()["rounds"] == 1
        await test.round_answered()


class _Head:
    next = 0

    def flush(self) -> int:
        return 0


def test_deferred_calls_count_the_workers_starting(tmp_path: Path) -> None:
    """Every slot starts; up, a failed start or an exit ends it; a replacement starts again.
    The supervisor's own handlers still run."""
    config = BatchConfig(inputs=str(tmp_path / "in.jsonl"), output=str(tmp_path / "o.jsonl"))
    dispatcher = Dispatcher(chunk_size=1, window=10, head=_Head())
    side = DeferredCalls(config, "http://127.0.0.1:9/v1", lambda _, __: None, dispatcher, 3)
    seen: list[Any] = []
    handlers: dict[type, Callable[[Any], None]] = {
        kind: seen.append for kind in (WorkerUp, WorkerFailedToStart, WorkerExited)
    }
    side.hook(handlers)

    def exited(slot: int, replaced: bool) -> WorkerExited:
        return WorkerExited(slot, None, 1, 0, replaced=replaced, gave_up=False, unexpected=True)

    try:
        events: list[tuple[Any, int]] = [
            (WorkerUp(0, None), 2),
            (WorkerFailedToStart(1, "ImportError", "no"), 1),
            (exited(1, replaced=True), 2),
            (WorkerUp(1, None), 1),
            (exited(2, replaced=False), 0),
        ]
        for event, starting in events:
            handlers[type(event)](event)
            assert side.rounds.starting() == starting, event
        assert seen == [event for event, _ in events]
    finally:
        side.close()
