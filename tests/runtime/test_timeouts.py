"""max_execution_time really cancels the work in flight."""

from __future__ import annotations

import time

import pytest

from fastcrew import Crew, ExecutionTimeoutError, Task
from fastcrew.sim import serve

from .conftest import Probe, agent, sim_llm


async def test_max_execution_time_cancels_the_task():
    async with serve(latency_ms=10_000) as sim:
        probe = Probe(sim_llm(sim.base_url))
        slow = agent(probe, role="Slow", max_execution_time=0.2)
        crew = Crew(
            agents=[slow],
            tasks=[
                Task(description="Take forever", expected_output="x", agent=slow, name="forever")
            ],
        )
        started = time.perf_counter()
        with pytest.raises(ExecutionTimeoutError, match=r"max_execution_time of 0\.2 s") as info:
            await crew.akickoff()
        elapsed = time.perf_counter() - started
    assert isinstance(info.value, TimeoutError)
    assert (info.value.task, info.value.agent) == ("forever", "Slow")
    assert probe.cancelled == 1
    assert elapsed < 5  # the 10 s answer was not waited for


async def test_max_execution_time_on_a_direct_agent_call():
    async with serve(latency_ms=10_000) as sim:
        probe = Probe(sim_llm(sim.base_url))
        slow = agent(probe, max_execution_time=0.1)
        with pytest.raises(ExecutionTimeoutError):
            await slow.akickoff("hello")
    assert probe.cancelled == 1


async def test_fast_tasks_are_not_affected(llm):
    quick = agent(llm, max_execution_time=30)
    crew = Crew(agents=[quick], tasks=[Task(description="Quick", expected_output="x", agent=quick)])
    assert "Quick" in (await crew.akickoff()).raw
