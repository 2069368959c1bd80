"""A three-task crew for the response-cache batch tests (loaded by spec in each worker).

Task 3's description ends with ``$FASTCREW_TEST_TASK3`` (inherited by the workers): changing
it changes task 3's request, and only task 3's (task 3 sees the earlier tasks' answers,
which do not depend on it).
"""

from __future__ import annotations

import os

from fastcrew import LLM, Agent, Crew, Task

TASK3_ENV = "FASTCREW_TEST_TASK3"


def three_tasks() -> Crew:
    """Three tasks, one LLM call each per row (the LLM from the worker's environment)."""
    agent = Agent(
        role="Echo", goal="Answer about {topic}", backstory="A test agent.", llm=LLM("sim-model")
    )
    tasks = [
        Task(name="one", description="Outline {topic}", expected_output="One line.", agent=agent),
        Task(name="two", description="Expand on {topic}", expected_output="One line.", agent=agent),
        Task(
            name="three",
            description="Summarise {topic} " + os.environ.get(TASK3_ENV, "briefly"),
            expected_output="One line.",
            agent=agent,
        ),
    ]
    return Crew(agents=[agent], tasks=tasks)
