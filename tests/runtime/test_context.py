"""Context between tasks, async_execution joins, and failures in concurrent tasks."""

from __future__ import annotations

import pytest

from fastcrew import ConfigurationError, Crew, LLMConnectionError, Task
from fastcrew.runtime.prompts import CONTEXT_SEPARATOR

from .conftest import Probe, agent, sim_llm


def _prompt(output) -> str:
    return output.messages[1]["content"]


async def test_default_context_accumulates_like_crewai(llm):
    a = agent(llm)
    tasks = [Task(description=f"Step {i}", expected_output="x", agent=a) for i in range(3)]
    result = await Crew(agents=[a], tasks=tasks).akickoff()
    first, second, third = result.tasks_output
    assert "earlier work" not in _prompt(first)
    assert first.raw in _prompt(second)
    assert f"{first.raw}{CONTEXT_SEPARATOR}{second.raw}" in _prompt(third)
    assert result.raw == third.raw


async def test_explicit_and_empty_context(llm):
    a = agent(llm)
    t1 = Task(description="One", expected_output="x", agent=a)
    t2 = Task(description="Two", expected_output="x", agent=a, context=[])
    t3 = Task(description="Three", expected_output="x", agent=a, context=[t1])
    t4 = Task(description="Four", expected_output="x", agent=a, context=None)
    out = (await Crew(agents=[a], tasks=[t1, t2, t3, t4]).akickoff()).tasks_output
    assert "earlier work" not in _prompt(out[1])
    assert out[0].raw in _prompt(out[2])
    assert out[1].raw not in _prompt(out[2])
    assert "earlier work" not in _prompt(out[3])


async def test_async_tasks_run_concurrently_and_join(slow_sim):
    llm = sim_llm(slow_sim.base_url)
    a = agent(llm)
    branches = [
        Task(description=f"Branch {i}", expected_output="x", agent=a, async_execution=True)
        for i in range(3)
    ]
    join = Task(description="Join", expected_output="x", agent=a, context=branches)
    result = await Crew(agents=[a], tasks=[*branches, join]).akickoff()
    stats = slow_sim.stats()
    assert stats["peak_in_flight"] == 3
    assert stats["requests_total"] == 4
    prompt = _prompt(result.tasks_output[3])
    for branch in result.tasks_output[:3]:
        assert branch.raw in prompt
    assert [o.description for o in result.tasks_output] == [
        "Branch 0",
        "Branch 1",
        "Branch 2",
        "Join",
    ]


async def test_sync_task_joins_pending_async_tasks_and_crew_joins_the_rest(slow_sim):
    llm = sim_llm(slow_sim.base_url)
    a = agent(llm)
    t = [
        Task(description="A", expected_output="x", agent=a, async_execution=True),
        Task(description="B", expected_output="x", agent=a, async_execution=True),
        Task(description="C", expected_output="x", agent=a),  # default context: A and B
        Task(description="D", expected_output="x", agent=a, async_execution=True),
        Task(description="E", expected_output="x", agent=a, async_execution=True),
    ]
    result = await Crew(agents=[a], tasks=t).akickoff()
    out = result.tasks_output
    assert len(out) == 5
    assert all(o is not None for o in out)
    assert out[0].raw in _prompt(out[2])
    assert out[1].raw in _prompt(out[2])
    assert out[2].raw in _prompt(out[3])
    assert out[2].raw in _prompt(out[4])
    assert result.raw == out[4].raw
    assert slow_sim.stats()["peak_in_flight"] == 2


async def test_async_task_waits_for_async_context(slow_sim):
    llm = sim_llm(slow_sim.base_url)
    a = agent(llm)
    first = Task(description="First", expected_output="x", agent=a, async_execution=True)
    other = Task(description="Other", expected_output="x", agent=a, async_execution=True)
    after = Task(
        description="After", expected_output="x", agent=a, async_execution=True, context=[first]
    )
    out = (await Crew(agents=[a], tasks=[first, other, after]).akickoff()).tasks_output
    assert out[0].raw in _prompt(out[2])
    assert out[1].raw not in _prompt(out[2])
    assert slow_sim.stats()["peak_in_flight"] == 2


async def test_failure_in_async_task_cancels_siblings_and_raises_itself(slow_sim, closed_url):
    slow = Probe(sim_llm(slow_sim.base_url))
    broken = sim_llm(closed_url)
    worker, failing = agent(slow, role="Slow"), agent(broken, role="Broken")
    done: list[str] = []
    tasks = [
        Task(
            description="Slow work",
            expected_output="x",
            agent=worker,
            async_execution=True,
            callback=lambda out: done.append(out.raw),
        ),
        Task(description="Doomed", expected_output="x", agent=failing, async_execution=True),
        Task(description="Never", expected_output="x", agent=worker),
    ]
    with pytest.raises(LLMConnectionError) as info:
        await Crew(agents=[worker, failing], tasks=tasks).akickoff()
    assert not isinstance(info.value, BaseExceptionGroup)
    assert "while running task 'Doomed' (agent 'Broken')" in info.value.__notes__
    assert slow.cancelled == 1
    assert slow.finished == 0
    assert done == []


def test_crew_checks_its_tasks(llm):
    a = agent(llm)
    t1 = Task(description="One", expected_output="x", agent=a)
    t2 = Task(description="Two", expected_output="x", agent=a, context=[t1])
    with pytest.raises(ConfigurationError, match="does not run before it"):
        Crew(agents=[a], tasks=[t2, t1])
    with pytest.raises(ConfigurationError, match="not in this crew"):
        Crew(agents=[a], tasks=[t2])
    with pytest.raises(ConfigurationError, match="has no agent"):
        Crew(agents=[a], tasks=[Task(description="Lonely", expected_output="x")])
    with pytest.raises(ConfigurationError, match="at least one task"):
        Crew(agents=[a], tasks=[])
