"""Shared pieces of the runtime benchmarks: a one-task crew (and the bounded gather)."""

from __future__ import annotations

from benchlib import gather_bounded

from fastcrew import LLM, Agent, Crew, Task

__all__ = ["gather_bounded", "one_task_crew"]


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
