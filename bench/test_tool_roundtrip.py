"""Client CPU per tool round trip (LLM call → tool → LLM call) vs two raw aiohttp POSTs.

The simulator (zero latency, one tool round) runs in its own process. A fastcrew item is one
single-task crew whose agent has one async tool: the first answer calls it, the second quotes
its result. The baseline item is two raw aiohttp POSTs of the crew's first request body +
orjson parse. Target: fastcrew ≤ 2x.
"""

from __future__ import annotations

import orjson
import pytest
from benchlib import best_cpu_ms, ratios, raw_aiohttp

from fastcrew import LLM, Agent, Crew, Task
from fastcrew._loop import run
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.sim import spawn
from fastcrew.tools import tool

N = {10: 2000, 500: 3000}
INPUTS = {"topic": "solid-state batteries"}
cells: dict[tuple[str, int], float] = {}


@tool("Lookup")
async def lookup(query: str) -> str:
    """Looks a topic up in the knowledge base."""
    return f"three facts about {query[:40]}"


def tool_crew(base_url: str) -> Crew:
    llm = LLM(
        "openai/sim",
        base_url=base_url,
        rate_limit=RateLimit(rpm=None, tpm=None),
        retry=RetryPolicy(max_attempts=1),
    )
    agent = Agent(
        role="Researcher", goal="Know {topic}", backstory="Careful.", llm=llm, tools=[lookup]
    )
    task = Task(description="Research {topic}", expected_output="Facts", agent=agent)
    return Crew(agents=[agent], tasks=[task])


@pytest.fixture(scope="module")
def sim():
    with spawn(tool_rounds=1, parallel_calls=1) as server:
        yield server


@pytest.fixture(scope="module")
def body(sim) -> bytes:
    """The first request body a tool crew sends (messages + tools)."""
    out = run(tool_crew(sim.base_url).akickoff(INPUTS))
    assert "three facts" in out.raw
    return orjson.dumps(
        {
            "model": "sim",
            "messages": out.tasks_output[0].messages[:2],
            "tools": [lookup.openai_spec()],
        }
    )


def _raw_twice(base_url: str, body: bytes, n: int, concurrency: int):
    return raw_aiohttp(base_url, body, 2 * n, concurrency)


def _crew(base_url: str, body: bytes, n: int, concurrency: int):
    crew = tool_crew(base_url)

    async def main() -> None:
        await crew.akickoff_for_each([INPUTS] * n, max_concurrency=concurrency)

    return main


CLIENTS = {"raw_aiohttp_x2": _raw_twice, "fastcrew_tool_crew": _crew}


@pytest.mark.parametrize("concurrency", [10, 500])
@pytest.mark.parametrize("client", list(CLIENTS))
def test_client_cpu_per_tool_round_trip(benchmark, sim, body, report, client, concurrency):
    n = N[concurrency]
    cpu_ms = best_cpu_ms(benchmark, CLIENTS[client](sim.base_url, body, n, concurrency), n)
    cells[(client, concurrency)] = cpu_ms
    benchmark.extra_info.update(cpu_ms_per_round_trip=round(cpu_ms, 4), n=n)
    report.add(client=client, concurrency=concurrency, n=n, cpu_ms_per_round_trip=round(cpu_ms, 4))
    report.summary.update(
        fastcrew_over_two_raw_posts=ratios(cells, "fastcrew_tool_crew", "raw_aiohttp_x2"),
        cpu_ms_per_round_trip={f"{k[0]}@C={k[1]}": round(v, 4) for k, v in cells.items()},
        target="<= 2",
    )
