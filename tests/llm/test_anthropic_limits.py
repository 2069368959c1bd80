"""Anthropic's separate request, input- and output-token budgets, learned from its
``anthropic-ratelimit-*`` headers, against the simulator over loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fastcrew import LLM, Agent, Crew, RateLimit, RetryPolicy, Task
from fastcrew.limits import SharedBudget
from fastcrew.sim import Simulator, serve

KEY = "sk-ant-sim-key-000000000000"
RETRY = RetryPolicy(max_attempts=20, base_delay=0.001, max_delay=0.01)
CREWS = 200
# The binding budget: 40,960 output tokens a minute is ten calls' default max_tokens (4,096),
# which Anthropic charges when it admits a call and refunds to the real answer at its end.
LIMITS: dict[str, Any] = {"rpm": 60_000, "itpm": 2_000_000, "otpm": 40_960}


def claude(sim: Simulator, **kwargs: Any) -> LLM:
    kwargs.setdefault("retry", RETRY)
    base = sim.base_url.removesuffix("/v1")
    return LLM("anthropic/claude-sonnet-4-5", base_url=base, api_key=KEY, **kwargs)


def crew(llm: LLM, i: int) -> Crew:
    agent = Agent(role="Analyst", goal="Summarise", backstory="Terse.", llm=llm)
    tasks = [
        Task(
            description=f"Summarise item {i}, part {part}", expected_output="One line", agent=agent
        )
        for part in (1, 2)
    ]
    return Crew(agents=[agent], tasks=tasks)


async def run_crews(sim: Simulator, llm: LLM) -> dict[str, Any]:
    """A few calls to learn from, then 200 crews at once (two calls each)."""
    for i in range(3):
        await llm.achat(f"warm up {i}")
    sim.reset_stats()
    await asyncio.gather(*(crew(llm, i).akickoff() for i in range(CREWS)))
    return sim.stats()


async def test_200_concurrent_crews_get_under_2_percent_429s_without_being_told_the_limits():
    async with serve(api_key=KEY, latency_ms=20, **LIMITS) as sim:
        llm = claude(sim)  # no rate_limit: every limit is learned from the headers
        stats = await run_crews(sim, llm)
    answered = stats["by_status"]
    assert answered["200"] == CREWS * 2
    assert answered.get("429", 0) <= 0.02 * stats["requests_total"]
    source = llm.limiter().source
    assert isinstance(source, SharedBudget)
    learned = source.budget
    assert learned.output is not None
    assert learned.output.rate * 60 == pytest.approx(LIMITS["otpm"])
    assert learned.input is not None
    assert learned.input.rate * 60 == pytest.approx(LIMITS["itpm"])


async def test_without_the_budgets_the_same_burst_is_refused_by_the_hundred():
    # The control: every limit of ours off, one attempt per call, the same 200 at once.
    off = RateLimit(rpm=None, tpm=None, itpm=None, otpm=None)
    async with serve(api_key=KEY, latency_ms=20, **LIMITS) as sim:
        llm = claude(sim, rate_limit=off, retry=RetryPolicy(max_attempts=1))
        calls = (llm.achat(f"Summarise item {i}") for i in range(CREWS))
        await asyncio.gather(*calls, return_exceptions=True)
        stats = sim.stats()
    assert stats["by_status"]["429"] > 0.5 * stats["requests_total"]
