"""Client CPU per tool round trip (LLM call → tool → LLM call) through a tool from the
ecosystem vs the same round trip through a native fastcrew tool, side by side in one run.

Runs in .venv-crewai (scripts/bench routes bench/crewai_env there). The simulator (zero
latency, one tool round, one call per round) runs in its own process; an item is one
single-task crew whose agent has one tool that returns a short text, run with
``akickoff_for_each`` on the runtime's home loop (as a batch worker runs rows). Pairs:

- ``native_async`` vs ``crewai_async`` (CrewAI ``@tool`` on an ``async def``), ``mcp_stdio``
  (a FastMCP server over stdio, one shared session), ``langchain_async`` (StructuredTool);
- ``native_sync`` vs ``crewai_sync`` (a ``crewai.tools.BaseTool`` subclass with ``_run``),
  ``langchain_sync`` (``StructuredTool`` on a ``def``): both run in the runtime's thread pool.

Target (issue 18): the CrewAI tool object and the MCP tool each ≤ 1.2x the native tool.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from benchlib import ratios
from crewai.tools import BaseTool as CrewAIBaseTool
from crewai.tools import tool as crewai_tool
from langchain_core.tools import StructuredTool

from fastcrew import LLM, Agent, Crew, Task
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.process_runtime import get_runtime
from fastcrew.sim import spawn
from fastcrew.tools import tool

N = {10: 1500, 200: 2000}
INPUTS = {"topic": "solid-state batteries"}
SERVER = str(Path(__file__).with_name("mcp_server.py"))
cells: dict[tuple[str, int], float] = {}


@tool("Lookup")
async def native_async(query: str) -> str:
    """Looks a topic up in the knowledge base."""
    return f"three facts about {query[:40]}"


@tool("Lookup")
def native_sync(query: str) -> str:
    """Looks a topic up in the knowledge base."""
    return f"three facts about {query[:40]}"


@crewai_tool("Lookup")
async def crewai_async(query: str) -> str:
    """Looks a topic up in the knowledge base."""
    return f"three facts about {query[:40]}"


class CrewAISync(CrewAIBaseTool):
    name: str = "Lookup"
    description: str = "Looks a topic up in the knowledge base."

    def _run(self, query: str) -> str:
        return f"three facts about {query[:40]}"


async def _lookup(query: str) -> str:
    return f"three facts about {query[:40]}"


def _lookup_sync(query: str) -> str:
    return f"three facts about {query[:40]}"


langchain_async = StructuredTool.from_function(
    coroutine=_lookup, name="Lookup", description="Looks a topic up in the knowledge base."
)
langchain_sync = StructuredTool.from_function(
    func=_lookup_sync, name="Lookup", description="Looks a topic up in the knowledge base."
)


def _mcp() -> dict[str, Any]:
    from fastcrew.mcp import MCPServerStdio

    return {"mcps": [MCPServerStdio(command=sys.executable, args=[SERVER])]}


TOOLS: dict[str, Callable[[], dict[str, Any]]] = {
    "native_async": lambda: {"tools": [native_async]},
    "crewai_async": lambda: {"tools": [crewai_async]},
    "mcp_stdio": _mcp,
    "langchain_async": lambda: {"tools": [langchain_async]},
    "native_sync": lambda: {"tools": [native_sync]},
    "crewai_sync": lambda: {"tools": [CrewAISync()]},
    "langchain_sync": lambda: {"tools": [langchain_sync]},
}
PAIRS = {
    "crewai_async": "native_async",
    "mcp_stdio": "native_async",
    "langchain_async": "native_async",
    "crewai_sync": "native_sync",
    "langchain_sync": "native_sync",
}


def tool_crew(base_url: str, tools: dict[str, Any]) -> Crew:
    llm = LLM("openai/sim", base_url=base_url, rate_limit=RateLimit(rpm=None, tpm=None),
              retry=RetryPolicy(max_attempts=1))  # fmt: skip
    agent = Agent(role="Researcher", goal="Know {topic}", backstory="Careful.", llm=llm, **tools)
    task = Task(description="Research {topic}", expected_output="Facts", agent=agent)
    return Crew(agents=[agent], tasks=[task])


def cpu_ms_on_home_loop(benchmark: Any, main: Callable[[], Any], n: int) -> float:
    """Best CPU ms per item of ``main()`` run on the runtime's home loop — where a batch
    worker runs its rows and where MCP sessions live (one warm-up, 3 rounds). CPU of the
    whole process: every thread counts."""
    runtime = get_runtime()
    runtime.run(main())
    samples: list[float] = []

    def once() -> None:
        cpu = time.process_time()
        runtime.run(main())
        samples.append(time.process_time() - cpu)

    benchmark.pedantic(once, rounds=3, iterations=1)
    return min(samples) / n * 1000


@pytest.fixture(scope="module")
def sim():
    with spawn(tool_rounds=1, parallel_calls=1) as server:
        yield server


@pytest.mark.parametrize("concurrency", [10, 200])
@pytest.mark.parametrize("kind", list(TOOLS))
def test_cpu_per_tool_round_trip(benchmark, sim, report, kind, concurrency):
    n = N[concurrency]
    crew = tool_crew(sim.base_url, TOOLS[kind]())

    async def main() -> None:
        outs = await crew.akickoff_for_each([INPUTS] * n, max_concurrency=concurrency)
        assert "three facts about" in outs[-1].raw

    cpu_ms = cpu_ms_on_home_loop(benchmark, main, n)
    cells[(kind, concurrency)] = cpu_ms
    benchmark.extra_info.update(cpu_ms_per_round_trip=round(cpu_ms, 4), n=n)
    report.add(tool=kind, concurrency=concurrency, n=n, cpu_ms_per_round_trip=round(cpu_ms, 4))
    report.summary.update(
        {f"{ours}_over_{base}": ratios(cells, ours, base) for ours, base in PAIRS.items()},
        cpu_ms_per_round_trip={f"{k[0]}@C={k[1]}": round(v, 4) for k, v in cells.items()},
        target="crewai and mcp <= 1.2",
    )
