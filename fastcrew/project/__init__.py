"""CrewAI projects as ``crewai create crew`` writes them: ``@CrewBase`` classes whose
``@agent`` / ``@task`` methods read ``config/agents.yaml`` and ``config/tasks.yaml``.

::

    from fastcrew.project import CrewBase, agent, crew, task   # was: from crewai.project

See docs/projects.md for the YAML keys, how names are resolved and where fastcrew differs.
"""

from .annotations import (
    after_kickoff,
    agent,
    before_kickoff,
    cache_handler,
    callback,
    crew,
    llm,
    output_json,
    output_pydantic,
    task,
    tool,
)
from .crew_base import CrewBase, is_crew_class

__all__ = [
    "CrewBase",
    "after_kickoff",
    "agent",
    "before_kickoff",
    "cache_handler",
    "callback",
    "crew",
    "is_crew_class",
    "llm",
    "output_json",
    "output_pydantic",
    "task",
    "tool",
]
