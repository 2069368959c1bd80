"""A CrewAI cell in its own process: ``python -m fastcrew.benchmark.crewai_cell SPEC_JSON``.

Runs in an interpreter that has ``crewai`` (possibly another venv, given ``PYTHONPATH`` to
this checkout): it imports only the stdlib, ``crewai`` and this package's stdlib-only
modules. Same prompts, same simulator, same methods as the fastcrew side; telemetry is off
(the parent sets ``CREWAI_DISABLE_TELEMETRY`` and ``OTEL_SDK_DISABLED``). CrewAI cannot run
one Crew concurrently ("Executor is already running"), so the gather methods run a
``crew.copy()`` each, as CrewAI's own ``akickoff_for_each`` does. With ``--tools`` the
agent gets the bench's one ``async def`` tool through ``crewai.tools.tool``: CrewAI's own
path for async tools is what runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from . import probe
from .probe import Measured
from .prompts import AGENT, MODEL, TASK, TOOLS_TASK, WARM_UP, inputs
from .tooling import TOOL_NAME, ToolGauge, lookup_function

__all__ = ["prepare"]


def _crew(base_url: str, tick: Callable[[], None], tool_ms: float | None, gauge: ToolGauge) -> Any:
    from crewai import LLM, Agent, Crew, Task

    llm = LLM(model=f"openai/{MODEL}", base_url=base_url, api_key="sim-key")
    if tool_ms is None:
        analyst = Agent(**AGENT, llm=llm, verbose=False)
        task = Task(**TASK, agent=analyst)
    else:
        from crewai.tools import tool

        notes = tool(TOOL_NAME)(lookup_function(tool_ms, gauge))
        analyst = Agent(**AGENT, llm=llm, tools=[notes], verbose=False)
        task = Task(**TOOLS_TASK, agent=analyst)

    def count(out: Any) -> Any:
        tick()
        return out

    return Crew(agents=[analyst], tasks=[task], verbose=False, after_kickoff_callbacks=[count])


def prepare(spec: dict[str, Any], tick: Callable[[], None]) -> Measured:
    """Build and warm up CrewAI's crew; return the measured run."""
    tool_ms, gauge = spec.get("tool_ms"), ToolGauge()
    crew = _crew(spec["base_url"], tick, tool_ms, gauge)
    rows = inputs(spec["n"])
    crew.kickoff(inputs=WARM_UP)
    method, bound = spec["method"], spec.get("concurrency") or 1

    async def gather_kickoff_async() -> list[Any]:
        return await asyncio.gather(*(crew.copy().kickoff_async(inputs=row) for row in rows))

    async def gather_akickoff() -> list[Any]:
        gate = asyncio.Semaphore(bound)

        async def one(row: dict[str, Any]) -> Any:
            async with gate:
                return await crew.copy().akickoff(inputs=row)

        return await asyncio.gather(*(one(row) for row in rows))

    runs: dict[str, Callable[[], list[Any]]] = {
        "kickoff_for_each": lambda: crew.kickoff_for_each(inputs=rows),
        "kickoff_async": lambda: asyncio.run(gather_kickoff_async()),
        "akickoff_for_each": lambda: asyncio.run(crew.akickoff_for_each(inputs=rows)),
        "akickoff": lambda: asyncio.run(gather_akickoff()),
    }

    def measured() -> dict[str, Any] | None:
        gauge.reset()
        outputs = runs[method]()
        if len(outputs) != len(rows):
            raise RuntimeError(f"{len(outputs)} of {len(rows)} crews finished")
        return None if tool_ms is None else gauge.snapshot()

    return measured


if __name__ == "__main__":
    probe.main(prepare)
