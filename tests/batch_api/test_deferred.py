"""The worker's Deferrer and the LLM client's hook, in one process: calls of a real ``LLM``
go through a Deferrer into real rounds of batch jobs on the simulator, and back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fastcrew import LLM
from fastcrew.batch.supervisor.batchapi import BatchRounds
from fastcrew.batch.worker.deferred import Deferrer
from fastcrew.llm.batch_api import BatchAPI
from fastcrew.process_runtime import get_runtime
from fastcrew.sim import Simulator, serve

from .chain import FAST


@pytest.fixture
async def batch_sim() -> AsyncIterator[Simulator]:
    async with serve(batch_delay=0) as sim:
        yield sim


async def _deferring(sim: Simulator, base: Path) -> tuple[Deferrer, BatchRounds]:
    """A Deferrer whose Defer messages go to real rounds, whose answers come back to it."""
    rounds: list[BatchRounds] = []

    def to_supervisor(message: Any) -> None:
        for key, model, body in message.calls:
            rounds[0].defer("worker", key, model, body)

    deferrer = Deferrer(to_supervisor)
    rounds.append(
        BatchRounds(
            BatchAPI(sim.base_url, None),
            str(base),
            FAST,
            send=lambda _, answers: deferrer.answer(answers),
            active_rows=lambda: deferrer.waiting,
        )
    )
    return deferrer, rounds[0]


async def test_plain_and_streamed_calls_answer_as_over_http(batch_sim, tmp_path) -> None:
    deferrer, rounds = await _deferring(batch_sim, tmp_path / "o.batchapi")
    llm = LLM("gpt-4o-mini", base_url=batch_sim.base_url, api_key="sk-test")
    runtime = get_runtime()
    task = asyncio.get_running_loop().create_task(rounds.run(tick=0.01))
    runtime.deferrer = deferrer
    try:
        plain, stream = await asyncio.gather(
            llm.achat("hello there"), llm.achat("hello there", stream=True)
        )
        text = "".join([delta.content async for delta in stream])
    finally:
        runtime.deferrer = None
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        rounds.close()
    http = await llm.achat("hello there")
    assert plain.content == text == http.content
    assert stream.response.usage.total_tokens == plain.usage.total_tokens
    summary = rounds.summary()
    assert summary["requests"] == 1  # the streamed call has the same key: paid once
    assert summary["deduped"] == 1
    assert batch_sim.stats()["requests_total"] == 1  # only the comparison went over HTTP
    assert plain.usage.cost_usd == pytest.approx(http.usage.cost_usd / 2)  # batch rates


async def test_an_error_answer_raises_the_providers_error(batch_sim, tmp_path) -> None:
    deferrer, rounds = await _deferring(batch_sim, tmp_path / "o.batchapi")
    llm = LLM("gpt-4o-mini", base_url=batch_sim.base_url, api_key="sk-test", temperature=1.5)
    task = asyncio.get_running_loop().create_task(rounds.run(tick=0.01))
    get_runtime().deferrer = deferrer
    try:
        with pytest.raises(Exception, match="temperature") as caught:
            await llm.achat([{"role": "user", "content": "hi"}], temperature=5)
    finally:
        get_runtime().deferrer = None
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        rounds.close()
    assert getattr(caught.value, "status", None) == 400
    assert rounds.summary()["failed"] == 1


async def test_a_cancelled_call_stops_waiting() -> None:
    sent: list[Any] = []
    deferrer = Deferrer(sent.append)
    call = asyncio.ensure_future(deferrer.defer("http://h/v1/chat/completions", b'{"model":"m"}'))
    await asyncio.sleep(0)
    assert deferrer.waiting == 1
    call.cancel()
    await asyncio.gather(call, return_exceptions=True)
    assert deferrer.waiting == 0
    key = sent[0].calls[0][0]
    deferrer.answer([(key, 200, b"{}")])  # a late answer finds nobody, and is dropped
