"""Shared pieces of the runtime benchmarks: a one-task crew and a bounded gather."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastcrew import LLM, Agent, Crew, Task


def one_task_crew(base_url: str, **crew_options: object) -> Crew:
    """The crew every runtime benchmark runs: one agent, one task, one placeholder."""
    llm = LLM("sim", base_url=base_url)
    analyst = Agent(
        role="Analyst",
        goal="Summarise topics accurately",
        backstory="A careful analyst who writes short, factual summaries.",
        llm=llm,
    )
    task = Task(
        description="Summarise the current state of {topic}.",
        expected_output="Three sentences.",
        agent=analyst,
    )
    return Crew(agents=[analyst], tasks=[task], **crew_options)


async def gather_bounded(n: int, concurrency: int, one: Callable[[], Awaitable[object]]) -> None:
    """Run ``one()`` n times with ``concurrency`` workers."""

    async def worker(count: int) -> None:
        for _ in range(count):
            await one()

    per, extra = divmod(n, concurrency)
    await asyncio.gather(*(worker(per + (i < extra)) for i in range(concurrency)))
