"""The hierarchical process: a manager agent runs every task, delegating to the crew's agents
with the coworker tools (as in CrewAI).

The manager is ``manager_agent`` when given, else one made from ``manager_llm`` (then kept in
``crew.manager_agent``, as CrewAI does); it is built once per crew (a template like the rest)
and gets the coworker tools at run time, per task: over the task's own agent when it has one,
else over every agent of the crew (as in CrewAI). Validation follows CrewAI: one of
``manager_llm`` / ``manager_agent`` is required, a ``manager_agent`` must not be among
``agents`` and must not have tools (CrewAI finds the tools at kickoff; fastcrew at
construction).
"""

from __future__ import annotations

from typing import Any

from .agent import Agent

__all__ = ["MANAGER_ROLE", "check_manager", "make_manager"]

MANAGER_ROLE = "Crew Manager"


def check_manager(manager_llm: Any, manager_agent: Agent | None, agents: list[Agent]) -> None:
    """Raise ``ValueError`` (a pydantic validation error on the Crew) for a bad setup."""
    if manager_llm is None and manager_agent is None:
        raise ValueError(
            "Attribute `manager_llm` or `manager_agent` is required when using the "
            "hierarchical process"
        )
    if manager_agent is not None:
        if any(a is manager_agent for a in agents):
            raise ValueError("the manager agent should not be included in the agents list")
        if manager_agent.tools:
            raise ValueError(
                "Manager agent should not have tools: it gets the coworker tools itself"
            )


def make_manager(manager_llm: Any, manager_agent: Agent | None, verbose: bool = False) -> Agent:
    """The crew's manager: ``manager_agent`` as given, or a new one on ``manager_llm``
    (``verbose`` as the crew's)."""
    if manager_agent is not None:
        return manager_agent
    return Agent(
        role=MANAGER_ROLE,
        goal="Get the crew's task done as well as possible by handing the right work to "
        "the right coworker and checking what comes back.",
        backstory="An experienced manager who knows each coworker's strengths, delegates "
        "with complete instructions and context, and does not accept weak work.",
        llm=manager_llm,
        allow_delegation=True,
        verbose=verbose,
    )
