"""kickoff / kickoff_async / kickoff_for_each / akickoff_for_each: semantics and bounds."""

from __future__ import annotations

import asyncio
import threading

import pytest

from fastcrew import Crew, CrewOutput, FastCrewError, LLMConnectionError, ServerError, Task
from fastcrew.limits import RetryPolicy
from fastcrew.runtime.for_each import bounded_map
from fastcrew.sim import serve

from .conftest import Probe, agent, sim_llm


def _crew(llm, **kwargs) -> Crew:
    a = agent(llm)
    task = Task(description="Research {topic}", expected_output="notes", agent=a)
    return Crew(agents=[a], tasks=[task], **kwargs)


def test_sync_kickoffs(spawned_sim):
    spawned_sim.reset_stats()
    crew = _crew(sim_llm(spawned_sim.base_url))
    result = crew.kickoff({"topic": "sync"})
    assert isinstance(result, CrewOutput)
    assert "Research sync" in result.raw
    results = crew.kickoff_for_each({"topic": f"t{i}"} for i in range(4))
    assert [f"Research t{i}" in r.raw for i, r in enumerate(results)] == [True] * 4
    stats = spawned_sim.stats()
    assert stats["requests_total"] == 5
    assert stats["peak_in_flight"] == 1  # kickoff_for_each is sequential


async def test_sync_apis_refuse_inside_a_running_loop(llm):
    crew = _crew(llm)
    with pytest.raises(FastCrewError, match=r"use `await Crew.akickoff\(...\)`"):
        crew.kickoff({"topic": "x"})
    with pytest.raises(FastCrewError, match="akickoff_for_each"):
        crew.kickoff_for_each([{"topic": "x"}])
    # Agent.kickoff, as in CrewAI, returns its coroutine there instead: await it
    work = crew.agents[0].kickoff("hi")
    assert asyncio.iscoroutine(work)
    assert "hi" in (await work).raw


async def test_kickoff_async_runs_kickoff_in_a_thread(llm, monkeypatch):
    crew = _crew(llm)
    threads: list[str] = []
    original = Crew.kickoff

    def spy(self, inputs=None):
        threads.append(threading.current_thread().name)
        return original(self, inputs)

    monkeypatch.setattr(Crew, "kickoff", spy)
    result = await crew.kickoff_async({"topic": "threads"})
    assert "Research threads" in result.raw
    assert threads
    assert threads[0] != threading.current_thread().name


async def test_akickoff_for_each_bounds_concurrency_and_keeps_order(slow_sim):
    crew = _crew(sim_llm(slow_sim.base_url))
    results = await crew.akickoff_for_each(
        [{"topic": f"t{i}"} for i in range(7)], max_concurrency=3
    )
    assert [f"Research t{i}" in r.raw for i, r in enumerate(results)] == [True] * 7
    assert slow_sim.stats()["peak_in_flight"] == 3
    assert crew.kickoff_for_each_async == crew.akickoff_for_each


async def test_default_bound_runs_everything_at_once_for_small_batches(slow_sim):
    crew = _crew(sim_llm(slow_sim.base_url))
    await crew.akickoff_for_each([{"topic": str(i)} for i in range(5)])
    assert slow_sim.stats()["peak_in_flight"] == 5


async def test_generator_is_consumed_lazily_and_tasks_stay_bounded(llm):
    finished = 0
    ahead: list[int] = []

    def rows():
        for i in range(50):
            ahead.append(i - finished)  # rows pulled (this one included) but not finished
            yield {"topic": str(i)}

    crew = _crew(llm)
    live_seen: list[int] = []

    async def one(i: int, item: dict) -> str:
        nonlocal finished
        out = await crew.akickoff(item)
        finished += 1
        return out.raw

    results = await bounded_map(one, rows(), 4, on_spawn=live_seen.append)
    assert len(results) == 50
    assert "Research 49" in results[49]
    assert max(live_seen) == 4
    assert max(ahead) <= 4  # 4 in flight, the row being pulled waits for a slot


async def test_async_iterables_are_accepted(llm):
    async def rows():
        for i in range(3):
            yield {"topic": f"a{i}"}

    results = await _crew(llm).akickoff_for_each(rows(), max_concurrency=2)
    assert ["Research a" in r.raw for r in results] == [True] * 3


async def test_return_exceptions_keeps_the_place_of_failures(llm):
    crew = _crew(llm)
    results = await crew.akickoff_for_each(
        [{"topic": "ok"}, {"wrong": 1}, {"topic": "fine"}], return_exceptions=True
    )
    assert isinstance(results[0], CrewOutput)
    assert isinstance(results[2], CrewOutput)
    assert isinstance(results[1], FastCrewError)
    assert "missing input 'topic'" in str(results[1])


async def test_first_failure_cancels_the_rest_and_is_raised(slow_sim, closed_url):
    slow = Probe(sim_llm(slow_sim.base_url))
    broken = sim_llm(closed_url)
    good, bad = _crew(slow), _crew(broken)

    async def run(i: int, item: dict) -> CrewOutput:
        return await (bad if i == 3 else good).akickoff(item)

    with pytest.raises(LLMConnectionError):
        await bounded_map(run, [{"topic": str(i)} for i in range(10)], 5)
    # 0, 1, 2 and 4 were in flight and were cancelled; 5..9 never started
    assert slow.calls == 4
    assert slow.cancelled == 4
    assert slow.finished == 0


async def test_one_crew_many_concurrent_kickoffs_and_a_shared_agent(slow_sim):
    llm = sim_llm(slow_sim.base_url)
    shared = agent(llm, role="Shared")
    crew_a = Crew(
        agents=[shared], tasks=[Task(description="Alpha {n}", expected_output="x", agent=shared)]
    )
    crew_b = Crew(
        agents=[shared], tasks=[Task(description="Beta {n}", expected_output="x", agent=shared)]
    )
    runs = [crew_a.akickoff({"n": i}) for i in range(5)] + [
        crew_b.akickoff({"n": i}) for i in range(5)
    ]
    results = await asyncio.gather(*runs)
    assert [f"Alpha {i}" in r.raw for i, r in enumerate(results[:5])] == [True] * 5
    assert [f"Beta {i}" in r.raw for i, r in enumerate(results[5:])] == [True] * 5
    assert slow_sim.stats()["peak_in_flight"] == 10
    assert all(r.token_usage.successful_requests == 1 for r in results)


async def test_no_retry_layer_of_its_own():
    """CrewAI's three retry layers multiplied (an always-429 LLM got 9 calls): here the LLM
    client's RetryPolicy is the only one."""
    async with serve(fail_rate=1.0) as failing:
        llm = sim_llm(failing.base_url, retry=RetryPolicy(max_attempts=3, base_delay=0))
        with pytest.raises(ServerError):
            await _crew(llm).akickoff({"topic": "x"})
        assert failing.stats()["requests_total"] == 3
