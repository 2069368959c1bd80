"""BatchRounds with a fake row source (tests/batch_api/chain.py): rounds, dedupe, retries,
the answer store — against `fastcrew sim` and the independent fake."""

from __future__ import annotations

from pathlib import Path

from fastcrew.batch.supervisor.batchapi import RoundJournal
from fastcrew.sim import serve

from .chain import run_chain
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
