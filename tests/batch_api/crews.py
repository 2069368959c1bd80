"""Crews for the ``--via batch-api`` runs (loaded by spec in each worker process)."""

from __future__ import annotations

from fastcrew import LLM, Agent, Crew, Task


def three_step_crew() -> Crew:
    """Three sequential tasks, one LLM call each: three calls per row, each prompt holding
    the previous task's answer (so step k+1 exists only once step k is answered)."""
    llm = LLM("sim-model")
    agents = [
        Agent(role=f"Step {i}", goal="Answer about {topic}", backstory="A test agent.", llm=llm)
        for i in (1, 2, 3)
    ]
    tasks = [
        Task(
            name=f"step{i}",
            description=f"Step {i}: tell me about {{topic}}",
            expected_output="One line.",
            agent=agent,
        )
        for i, agent in enumerate(agents, 1)
    ]
    return Crew(agents=agents, tasks=tasks)
