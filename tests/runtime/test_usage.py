"""Token usage is per run and exact: the sum of what the server reported for that run."""

from __future__ import annotations

import asyncio

from fastcrew import Crew, Task

from .conftest import agent


async def test_usage_is_per_run_and_exact(sim, llm):
    a = agent(llm)
    crew = Crew(agents=[a], tasks=[Task(description="About {n}", expected_output="x", agent=a)])
    results = await asyncio.gather(*(crew.akickoff({"n": "x" * (i * 40)}) for i in range(4)))
    stats = sim.stats()
    assert [r.token_usage.successful_requests for r in results] == [1, 1, 1, 1]
    assert sum(r.token_usage.prompt_tokens for r in results) == stats["prompt_tokens"]
    assert sum(r.token_usage.completion_tokens for r in results) == stats["completion_tokens"]
    prompts = [r.token_usage.prompt_tokens for r in results]
    assert prompts == sorted(prompts)
    assert len(set(prompts)) == 4
    for r in results:
        usage = r.token_usage
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
        assert r.usage_metrics == usage.model_dump()


async def test_usage_counts_every_call_of_a_run(sim, llm):
    a = agent(llm)
    tasks = [Task(description=f"Step {i}", expected_output="x", agent=a) for i in range(3)]
    crew = Crew(agents=[a], tasks=tasks)
    first = await crew.akickoff()
    second = await crew.akickoff()
    assert first.token_usage.successful_requests == 3
    assert second.token_usage.successful_requests == 3
    stats = sim.stats()
    assert (
        first.token_usage.prompt_tokens + second.token_usage.prompt_tokens
        == (stats["prompt_tokens"])
    )
