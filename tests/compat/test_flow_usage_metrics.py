"""CrewAI compatibility: ``flow.usage_metrics``, as CrewAI 1.15's
``lib/crewai/tests/test_flow_usage_metrics.py`` pins it down (written for fastcrew, not
copied). CrewAI sums the ``LLMCallCompletedEvent``s its event bus sees for the flow; its
tests emit fabricated events. fastcrew has no event bus: a kickoff opens a usage meter
(``fastcrew.llm.meter``) that every successful LLM call made in its context adds to — crews,
``Agent.kickoff``, bare ``llm.acall`` / ``llm.call`` (plain ``def`` methods run in the thread
pool with the context copied) — so here real calls go to the simulator and the totals are
checked against what it counted.

The rules, as in CrewAI: the usage of the last kickoff (reset by the next), zero when no call
was made, only this flow's calls (not a concurrent flow's), a flow kicked off inside a method
rolls up into the outer one, ``usage_metrics`` is a new ``UsageMetrics`` each time, and the
kickoff's accounting ends with it (a late call from a finished kickoff does not reach the
next one). Meters nest: a batch row's meter around the flow counts the same calls.

Covered: 7 of its 12 tests (``test_handler_is_unregistered_after_kickoff`` and
``test_stale_handler_from_prior_kickoff_does_not_contaminate`` check the bus's handlers;
here their behaviour: nothing is counted into a flow once its kickoff has ended, failed or
not).

Left out (5): ``TestUsageDictToMetrics.test_normalization`` (CrewAI's private
``_usage_dict_to_metrics``; fastcrew reads the OpenAI wire's usage, tests/llm);
``test_kickoff_flushes_event_bus_before_returning`` (the event bus: fastcrew counts each call
as it completes, so the totals are whole when the kickoff returns, as every test here
checks); ``test_pause_detaches_listener_and_does_not_leak``,
``test_aggregates_resume_after_from_pending`` and
``test_resume_aggregates_under_foreign_flow_context`` (human feedback, ``from_pending`` and
``resume``: not supported).
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest
from runtime.conftest import sim_llm

from fastcrew import Agent, Crew, Task, UsageMetrics
from fastcrew.flow import Flow, listen, start
from fastcrew.llm import metered
from fastcrew.sim import spawn


def _crew(llm: Any) -> Crew:
    agent = Agent(role="Writer", goal="Write", backstory="Writes.", llm=llm)
    task = Task(description="Write about {topic}", expected_output="A line", agent=agent)
    return Crew(agents=[agent], tasks=[task])


def _sim_usage(sim: Any) -> tuple[int, int, int]:
    stats = sim.stats()
    return stats["requests_total"], stats["prompt_tokens"], stats["completion_tokens"]


def _usage(metrics: UsageMetrics) -> tuple[int, int, int]:
    return metrics.successful_requests, metrics.prompt_tokens, metrics.completion_tokens


async def test_sums_every_llm_call_in_the_flow(sim: Any) -> None:
    """A crew, a direct agent kickoff, a bare ``llm.acall`` and an ``llm.call`` in a plain
    ``def`` method (a thread) all count."""
    llm = sim_llm(sim.base_url)

    class Everything(Flow):
        @start()
        async def crew_step(self) -> Any:
            return await _crew(llm).akickoff({"topic": "tides"})

        @listen(crew_step)
        async def agent_step(self) -> Any:
            agent = Agent(role="Analyst", goal="Analyse", backstory="Careful.", llm=llm)
            return await agent.akickoff("What about the moon?")

        @listen(agent_step)
        async def bare_call(self) -> Any:
            return await llm.acall("Hello there")

        @listen(bare_call)
        def sync_call(self) -> Any:
            return llm.call("Hello from a thread")

    flow = Everything()
    await flow.akickoff()
    usage = flow.usage_metrics
    assert _usage(usage) == _sim_usage(sim)
    assert usage.successful_requests == 4
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0


async def test_returns_zero_when_no_calls_happen() -> None:
    class Quiet(Flow):
        @start()
        def begin(self) -> str:
            return "nothing"

    flow = Quiet()
    assert flow.usage_metrics == UsageMetrics()  # before any kickoff too
    await flow.akickoff()
    assert flow.usage_metrics == UsageMetrics()


async def test_ignores_events_from_other_flows(sim: Any) -> None:
    """Two flows running at once on one loop (and one LLM object) count their own calls."""
    llm = sim_llm(sim.base_url)

    class Calls(Flow):
        calls = 1

        @start()
        async def begin(self) -> None:
            for i in range(self.calls):
                await llm.acall(f"question {i}")

    one, three = Calls(), Calls()
    three.calls = 3
    await asyncio.gather(one.akickoff(), three.akickoff())
    assert one.usage_metrics.successful_requests == 1
    assert three.usage_metrics.successful_requests == 3
    assert (
        one.usage_metrics.prompt_tokens + three.usage_metrics.prompt_tokens
        == (sim.stats()["prompt_tokens"])
    )


async def test_resets_between_kickoffs(sim: Any) -> None:
    llm = sim_llm(sim.base_url)

    class Once(Flow):
        @start()
        async def begin(self) -> None:
            await llm.acall("the same question")

    flow = Once()
    await flow.akickoff()
    first = flow.usage_metrics
    await flow.akickoff()
    assert flow.usage_metrics == first
    assert flow.usage_metrics.successful_requests == 1
    assert sim.stats()["requests_total"] == 2


async def test_usage_metrics_returns_independent_copy(sim: Any) -> None:
    llm = sim_llm(sim.base_url)

    class Once(Flow):
        @start()
        async def begin(self) -> None:
            await llm.acall("question")

    flow = Once()
    await flow.akickoff()
    snapshot = flow.usage_metrics
    total = snapshot.total_tokens
    snapshot.total_tokens = 999_999
    assert flow.usage_metrics.total_tokens == total
    assert flow.usage_metrics is not snapshot


async def test_handler_is_unregistered_after_kickoff(sim: Any) -> None:
    """Nothing is counted into a flow once its kickoff has ended, failed or not."""
    llm = sim_llm(sim.base_url)

    class Failing(Flow):
        @start()
        async def begin(self) -> None:
            await llm.acall("before the failure")
            raise RuntimeError("boom")

    flow = Failing()
    with pytest.raises(RuntimeError, match="boom"):
        await flow.akickoff()
    assert flow.usage_metrics.successful_requests == 1  # the call made before the failure
    await llm.acall("after the kickoff")
    assert flow.usage_metrics.successful_requests == 1


async def test_stale_handler_from_prior_kickoff_does_not_contaminate(sim: Any) -> None:
    """A call made later in a finished kickoff's context (work it left behind) counts into
    that kickoff's orphaned total, never into the next kickoff's."""
    llm = sim_llm(sim.base_url)
    captured: list[contextvars.Context] = []

    class Flaky(Flow):
        call = True

        @start()
        async def begin(self) -> None:
            if self.call:
                await llm.acall("question")
            captured.append(contextvars.copy_context())

    flow = Flaky()
    await flow.akickoff()
    assert flow.usage_metrics.successful_requests == 1
    flow.call = False
    await flow.akickoff()
    assert flow.usage_metrics == UsageMetrics()
    await asyncio.create_task(llm.acall("late"), context=captured[0])
    assert flow.usage_metrics == UsageMetrics()


async def test_a_flow_inside_a_method_rolls_up_into_the_outer_flow(sim: Any) -> None:
    """Beyond CrewAI's file (its ``usage_metrics`` docstring): a nested kickoff's calls count
    in both flows."""
    llm = sim_llm(sim.base_url)

    class Inner(Flow):
        @start()
        async def begin(self) -> None:
            await llm.acall("inner")

    inner = Inner()

    class Outer(Flow):
        @start()
        async def begin(self) -> None:
            await llm.acall("outer")
            await inner.akickoff()

    outer = Outer()
    await outer.akickoff()
    assert inner.usage_metrics.successful_requests == 1
    assert outer.usage_metrics.successful_requests == 2
    assert _usage(outer.usage_metrics) == _sim_usage(sim)


async def test_meters_nest_around_a_flow(sim: Any) -> None:
    """A batch row's meter (``fastcrew batch --flow``) still counts every call of the flow
    that reports its own ``usage_metrics``."""
    llm = sim_llm(sim.base_url)

    class Two(Flow):
        @start()
        async def begin(self) -> None:
            await llm.acall("one")
            await llm.acall("two")

    flow = Two()
    with metered() as row:
        await flow.akickoff()
    assert row.requests == flow.usage_metrics.successful_requests == 2
    assert row.total_tokens == flow.usage_metrics.total_tokens


def test_sync_kickoff_reports_usage() -> None:
    """``flow.kickoff()`` (on the runtime's home loop) reports the same way."""
    with spawn() as server:
        _sync_kickoff(server.base_url)


def _sync_kickoff(base_url: str) -> None:
    llm = sim_llm(base_url)

    class Sync(Flow):
        @start()
        def begin(self) -> Any:
            return llm.call("Hello")

    flow = Sync()
    flow.kickoff()
    assert flow.usage_metrics.successful_requests == 1
    assert flow.usage_metrics.total_tokens > 0
