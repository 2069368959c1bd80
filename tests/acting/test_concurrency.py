"""Tools at scale: async tools of 1,000 crews in flight at once; sync tools bounded by the
runtime's thread pool."""

from __future__ import annotations

import asyncio
import threading
import time

from runtime.conftest import sim_llm

from fastcrew import Agent, Crew, Task
from fastcrew.process_runtime import get_runtime
from fastcrew.sim import serve
from fastcrew.tools import tool

N = 1000


def crew_with(llm, the_tool) -> Crew:
    agent = Agent(role="Worker", goal="Work", backstory="Busy.", llm=llm, tools=[the_tool])
    task = Task(description="Handle {item}", expected_output="Done", agent=agent)
    return Crew(agents=[agent], tasks=[task])


async def test_async_tools_of_a_thousand_crews_are_all_in_flight_at_once():
    live = peak = 0
    everyone = asyncio.Event()

    @tool("Wait")
    async def wait(item: str) -> str:
        """Waits for a slow backend."""
        nonlocal live, peak
        live += 1
        peak = max(peak, live)
        if live == N:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), 30)  # released only when all N are waiting
        live -= 1
        return "waited"

    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        crew = crew_with(sim_llm(sim.base_url), wait)
        outs = await crew.akickoff_for_each(
            [{"item": f"i{i}"} for i in range(N)], max_concurrency=N
        )
    assert len(outs) == N
    assert peak == N


async def test_sync_tools_are_bounded_by_the_runtime_thread_pool():
    pool = get_runtime().max_threads
    full = threading.Condition()
    live = peak = 0

    @tool("Block")
    def block(item: str) -> str:
        """A blocking call: the first ``pool`` calls wait until the pool is full."""
        nonlocal live, peak
        with full:
            live += 1
            peak = max(peak, live)
            full.notify_all()
            full.wait_for(lambda: peak >= pool, timeout=10)
            time.sleep(0.005)  # still inside: a thread beyond the pool would raise the peak
            live -= 1
        return "blocked"

    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        crew = crew_with(sim_llm(sim.base_url), block)
        loop_ticks = 0

        async def ticker() -> None:  # the loop keeps running while the tools block
            nonlocal loop_ticks
            while True:
                loop_ticks += 1
                await asyncio.sleep(0.005)

        ticking = asyncio.create_task(ticker())
        outs = await crew.akickoff_for_each(
            [{"item": f"i{i}"} for i in range(pool * 2)], max_concurrency=pool * 2
        )
        ticking.cancel()
    assert len(outs) == pool * 2
    assert peak == pool  # the pool was filled, and never more threads than it has
    assert loop_ticks > 5
