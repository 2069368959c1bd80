"""Agent.max_rpm / Crew.max_rpm: narrower caps shared by every run of their owner.

Loop time is fast-forwarded (looptime), so the caps' pacing is asserted exactly while the
calls still go over real HTTP to the simulator.
"""

import asyncio

import pytest

from fastcrew import Crew, Task
from fastcrew.sim import serve

from .conftest import agent, sim_llm

pytestmark = pytest.mark.looptime


def one_task_crew(worker, **kwargs) -> Crew:
    task = Task(description="Research {topic}", expected_output="Facts", agent=worker)
    return Crew(agents=[worker], tasks=[task], **kwargs)


async def test_crew_max_rpm_caps_all_its_concurrent_kickoffs_together():
    async with serve() as sim:
        crew = one_task_crew(agent(sim_llm(sim.base_url)), max_rpm=60)  # 1/s, burst 1
        loop = asyncio.get_running_loop()
        start = loop.time()
        outs = await crew.akickoff_for_each([{"topic": f"t{i}"} for i in range(5)])
        elapsed = loop.time() - start
        assert sim.stats()["requests_total"] == 5
    assert [o.raw.count(f"t{i}") > 0 for i, o in enumerate(outs)] == [True] * 5
    assert elapsed == pytest.approx(4.0, abs=0.05)  # not N copies x max_rpm


async def test_agent_max_rpm_is_shared_across_crews():
    async with serve() as sim:
        shared = agent(sim_llm(sim.base_url), max_rpm=120)  # 2/s, burst 2
        crew_a, crew_b = one_task_crew(shared), one_task_crew(shared)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.gather(
            crew_a.akickoff_for_each([{"topic": "a1"}, {"topic": "a2"}]),
            crew_b.akickoff_for_each([{"topic": "b1"}, {"topic": "b2"}]),
        )
        elapsed = loop.time() - start
    assert elapsed == pytest.approx(1.0, abs=0.05)  # 4 calls: 2 at once, then one per 0.5 s


async def test_uncapped_crews_are_not_slowed():
    async with serve() as sim:
        crew = one_task_crew(agent(sim_llm(sim.base_url)))
        loop = asyncio.get_running_loop()
        start = loop.time()
        await crew.akickoff_for_each([{"topic": f"t{i}"} for i in range(20)])
        assert loop.time() - start < 0.01


async def test_retries_are_counted_in_usage():
    from fastcrew import LLM, RateLimit, RetryPolicy

    async with serve(seed=5, fail_rate=0.5) as sim:
        llm = LLM(
            "m",
            base_url=sim.base_url,
            rate_limit=RateLimit(rpm=None, tpm=None),
            retry=RetryPolicy(max_attempts=20, base_delay=0.01),
        )
        outs = await one_task_crew(agent(llm)).akickoff_for_each(
            [{"topic": f"t{i}"} for i in range(10)]
        )
        failures = sim.stats()["faults"]["fail"]
    assert failures > 0
    assert sum(o.token_usage.retries for o in outs) == failures
    assert all(o.token_usage.successful_requests == 1 for o in outs)


async def test_a_call_cancelled_while_waiting_for_a_cap_settles_the_caps_it_holds():
    from fastcrew.process_runtime import get_runtime

    async with serve() as sim:
        capped = agent(sim_llm(sim.base_url), max_rpm=60)  # 1/s, burst 1
        crew = one_task_crew(capped, max_rpm=6000)
        await capped.akickoff("use up the agent's burst")
        run = asyncio.create_task(crew.akickoff({"topic": "x"}))
        await asyncio.sleep(0.5)  # holds the crew's cap, waits for the agent's
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        crew_cap = get_runtime().cap(crew, 6000)
        assert crew_cap.stats.admitted == 1
        assert crew_cap.stats.in_flight == 0
        assert sim.stats()["requests_total"] == 1
