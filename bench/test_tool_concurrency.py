"""1,000 crews whose agent calls an async tool that awaits 200 ms: wall vs the ideal.

The simulator (its own process) answers after LATENCY_MS; each crew makes two LLM calls with
the tool call between them, so the ideal wall for any number of crews is
2 * LATENCY_MS + TOOL_MS. Peak tool calls in flight come from the tool's own counter.
Target: all 1,000 in flight at once, wall ≤ 2x the ideal.
"""

from __future__ import annotations

import asyncio

import pytest
from benchlib import timed

from fastcrew import LLM, Agent, Crew, Task
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.sim import spawn
from fastcrew.tools import tool

N = 1000
LATENCY_MS = 500
TOOL_MS = 200
state = {"live": 0, "peak": 0}


@tool("Slow Lookup")
async def slow_lookup(query: str) -> str:
    """Looks a topic up in a slow backend."""
    state["live"] += 1
    state["peak"] = max(state["peak"], state["live"])
    await asyncio.sleep(TOOL_MS / 1000)
    state["live"] -= 1
    return "found it"


@pytest.fixture(scope="module")
def sim():
    with spawn(latency_ms=LATENCY_MS, tool_rounds=1, parallel_calls=1) as server:
        yield server


def test_thousand_crews_with_an_async_tool(benchmark, sim, report):
    llm = LLM(
        "openai/sim",
        base_url=sim.base_url,
        rate_limit=RateLimit(rpm=None, tpm=None),
        retry=RetryPolicy(max_attempts=1),
    )
    agent = Agent(role="Researcher", goal="Find", backstory="Quick.", llm=llm, tools=[slow_lookup])
    crew = Crew(
        agents=[agent],
        tasks=[Task(description="Look up {item}", expected_output="A fact", agent=agent)],
    )
    rows = [{"item": f"i{i}"} for i in range(N)]

    async def main() -> None:
        outs = await crew.akickoff_for_each(rows, max_concurrency=N)
        assert len(outs) == N

    timed(lambda: crew.akickoff_for_each(rows[:50], max_concurrency=50))  # warm-up
    walls: list[float] = []

    def once() -> None:
        state["peak"] = 0
        walls.append(timed(main)[0])

    benchmark.pedantic(once, rounds=3, iterations=1)
    ideal = (2 * LATENCY_MS + TOOL_MS) / 1000
    best = min(walls)
    report.add(n=N, wall_s=round(best, 3), ideal_s=ideal, peak_tools_in_flight=state["peak"])
    report.summary.update(
        wall_over_ideal=round(best / ideal, 3), peak_tools_in_flight=state["peak"], target="<= 2"
    )
