"""A run's cost: ``token_usage.cost_usd`` is the sum of its calls' costs, calls with no price
are counted in ``unpriced_requests``, and every place CrewAI's ``UsageMetrics`` shows up
(crews, streams, ``Agent.kickoff``, flows, the process total) carries both."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from fastcrew import LLM, Crew, Flow, Task, UsageMetrics, start
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.pricing import Prices
from fastcrew.process_runtime import get_runtime

from .conftest import agent

MODEL = "gpt-4.1-mini"


class Recorder:
    """Wraps an LLM and keeps every answer (duck-typed ``achat``, as agents call it)."""

    def __init__(self, llm: LLM) -> None:
        self.llm = llm
        self.answers: list[Any] = []

    async def achat(self, messages: Any, **kwargs: Any) -> Any:
        resp = await self.llm.achat(messages, **kwargs)
        if kwargs.get("stream"):
            inner = resp

            class Kept:  # keep the streamed answer once it is complete
                async def __aenter__(self) -> Any:
                    return self

                async def __aexit__(self, *exc: object) -> None:
                    await inner.aclose()

                def __aiter__(self) -> Any:
                    return self._each()

                async def _each(self) -> Any:
                    async for delta in inner:
                        yield delta

                @property
                def response(self) -> Any:
                    return inner.response

            self.answers.append(inner)
            return Kept()
        self.answers.append(resp)
        return resp

    def usages(self) -> list[Any]:
        return [getattr(a, "response", a).usage for a in self.answers]


def priced_llm(sim: Any, model: str = MODEL, **kwargs: Any) -> LLM:
    return LLM(
        model,
        base_url=sim.base_url,
        retry=RetryPolicy(max_attempts=1),
        rate_limit=RateLimit(rpm=None, tpm=None),
        **kwargs,
    )


def three_task_crew(llm: Any, **kwargs: Any) -> Crew:
    a = agent(llm)
    tasks = [
        Task(description=f"Step {i} on {{topic}}", expected_output="x", agent=a) for i in range(3)
    ]
    return Crew(agents=[a], tasks=tasks, **kwargs)


async def test_a_crew_s_cost_is_the_sum_of_its_calls(sim):
    recorder = Recorder(priced_llm(sim))
    out = await three_task_crew(recorder).akickoff({"topic": "owls"})
    usage = out.token_usage
    costs = [u.cost_usd for u in recorder.usages()]
    assert len(costs) == usage.successful_requests == 3
    assert all(c > 0 for c in costs)
    assert usage.cost_usd == pytest.approx(sum(costs), rel=1e-12)
    assert usage.unpriced_requests == 0
    stats = sim.stats()  # gpt-4.1-mini has no tiers: the cost of the server's token totals
    total = Prices().cost(
        MODEL,
        UsageMetrics(
            prompt_tokens=stats["prompt_tokens"], completion_tokens=stats["completion_tokens"]
        ),
    )
    assert usage.cost_usd == pytest.approx(total.usd, rel=1e-12)
    assert out.usage_metrics["cost_usd"] == usage.cost_usd
    assert [t for t in out.tasks_output]  # the run finished normally


async def test_a_streamed_crew_is_priced(sim):
    recorder = Recorder(priced_llm(sim))
    streaming = await three_task_crew(recorder, stream=True).akickoff({"topic": "owls"})
    chunks = [chunk async for chunk in streaming]
    assert chunks
    usage = streaming.result.token_usage
    costs = [u.cost_usd for u in recorder.usages()]
    assert len(costs) == 3
    assert all(c > 0 for c in costs)
    assert usage.cost_usd == pytest.approx(sum(costs), rel=1e-12)
    assert usage.unpriced_requests == 0


async def test_a_crew_on_an_unknown_model_counts_its_calls_unpriced(sim):
    llm = priced_llm(sim, f"openai/house-model-{uuid.uuid4().hex[:8]}")
    out = await three_task_crew(llm).akickoff({"topic": "owls"})
    usage = out.token_usage
    assert (usage.successful_requests, usage.unpriced_requests, usage.cost_usd) == (3, 3, 0.0)
    assert usage.prompt_tokens > 0


async def test_agents_with_their_own_price_and_without_add_up(sim):
    cheap, table = Recorder(priced_llm(sim, price="1/1")), Recorder(priced_llm(sim))
    first, second = agent(cheap, role="First"), agent(table, role="Second")
    crew = Crew(
        agents=[first, second],
        tasks=[
            Task(description="Research {topic}", expected_output="x", agent=first),
            Task(description="Write on {topic}", expected_output="x", agent=second),
        ],
    )
    out = await crew.akickoff({"topic": "owls"})
    (mine,), (theirs,) = cheap.usages(), table.usages()
    assert mine.cost_usd == pytest.approx((mine.prompt_tokens + mine.completion_tokens) * 1e-6)
    assert theirs.cost_usd == Prices().cost(MODEL, theirs).usd
    assert out.token_usage.cost_usd == pytest.approx(mine.cost_usd + theirs.cost_usd)


async def test_agent_kickoff_and_the_process_total_carry_the_cost(sim):
    runtime = get_runtime()
    before = (runtime.usage.cost_usd, runtime.usage.requests)
    recorder = Recorder(priced_llm(sim))
    result = await agent(recorder).akickoff("Summarise owls in one line")
    (usage,) = recorder.usages()
    assert result.usage_metrics is not None
    assert result.usage_metrics["cost_usd"] == usage.cost_usd > 0
    assert result.token_usage.cost_usd == usage.cost_usd
    assert runtime.usage.requests - before[1] == 1
    assert runtime.usage.cost_usd - before[0] == pytest.approx(usage.cost_usd)


async def test_a_flow_s_usage_metrics_carry_the_cost(sim):
    llm = priced_llm(sim)

    class Calls(Flow):
        @start()
        async def ask(self) -> str:
            first = await llm.achat("One")
            second = await llm.achat("Two")
            self.state["costs"] = [first.usage.cost_usd, second.usage.cost_usd]
            return "done"

    flow = Calls()
    await flow.kickoff_async()
    metrics = flow.usage_metrics
    assert metrics.successful_requests == 2
    assert metrics.cost_usd == pytest.approx(sum(flow.state["costs"]))
    assert metrics.unpriced_requests == 0


def test_add_usage_metrics_adds_the_cost_and_the_unpriced_calls():
    total = UsageMetrics(cost_usd=0.25, unpriced_requests=1, successful_requests=3)
    total.add_usage_metrics(UsageMetrics(cost_usd=0.5, unpriced_requests=2, successful_requests=4))
    assert (total.cost_usd, total.unpriced_requests, total.successful_requests) == (0.75, 3, 7)
    assert UsageMetrics().model_dump()["cost_usd"] == 0.0
