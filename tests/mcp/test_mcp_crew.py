"""``Agent(mcps=[...])`` in crews against the simulator: the MCP tool's result reaches the
model, and concurrent crews share one session."""

from __future__ import annotations

import asyncio
import json
import re

from mcp_helpers import stdio

from fastcrew import LLM, Agent, Crew, Task
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.mcp import create_static_tool_filter
from fastcrew.mcp.session import server_for
from fastcrew.sim import Simulator, serve


def crew(base_url: str, mcps: list[object]) -> Crew:
    llm = LLM(
        "openai/sim-model",
        base_url=base_url,
        retry=RetryPolicy(max_attempts=1),
        rate_limit=RateLimit(rpm=None, tpm=None),
    )
    agent = Agent(role="Researcher", goal="Find facts", backstory="Careful.", llm=llm, mcps=mcps)
    task = Task(description="Research {topic}", expected_output="Facts", agent=agent)
    return Crew(agents=[agent], tasks=[task])


async def test_a_crew_calls_a_stdio_mcp_tool(sim: Simulator) -> None:
    only_echo = stdio(tool_filter=create_static_tool_filter(allowed_tool_names=["echo"]))
    out = await crew(sim.base_url, [only_echo]).akickoff({"topic": "batteries"})
    # the stdio server's long name gives a hashed function name: match any
    assert re.search(r"tool results: \S+: ECHO:Research batteries", out.raw), out.raw
    assert out.tasks_output[0].used_tools >= 1


async def test_a_crew_with_a_url_reference(sim: Simulator, http_url: str) -> None:
    out = await crew(sim.base_url, [f"{http_url}#echo"]).akickoff({"topic": "tides"})
    assert "_mcp_echo: ECHO:Research tides" in out.raw, out.raw


async def test_50_concurrent_crews_share_one_session() -> None:
    config = stdio(tool_filter=create_static_tool_filter(allowed_tool_names=["pid"]))
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        the_crew = crew(sim.base_url, [config])
        outs = await asyncio.gather(*(the_crew.akickoff({"topic": f"t{i}"}) for i in range(50)))
    reports = {re.search(r": (\{\"pid\".*?\})", out.raw).group(1) for out in outs}  # type: ignore[union-attr]
    assert len(reports) == 1
    assert json.loads(reports.pop())["sessions"] == 1
    assert server_for(config).sessions_opened == 1


async def test_a_sync_kickoff_uses_the_same_session(sim: Simulator) -> None:
    config = stdio(tool_filter=create_static_tool_filter(allowed_tool_names=["pid"]))
    the_crew = crew(sim.base_url, [config])
    first = await the_crew.akickoff({"topic": "a"})  # on this test's loop
    second = await asyncio.to_thread(the_crew.kickoff, {"topic": "b"})  # on the home loop
    pids = {re.search(r'"pid": (\d+)', out.raw).group(1) for out in (first, second)}  # type: ignore[union-attr]
    assert len(pids) == 1
    assert server_for(config).sessions_opened == 1
