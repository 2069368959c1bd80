"""Agents that act: the tool loop (native function calling or ReAct), delegation between
coworkers. ``fastcrew.tools`` defines the tools; this package runs them inside a task."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...tools import BaseTool, ToolRunState
from .delegation import delegation_tools
from .steps import act, current_run
from .toolbox import Observation, Toolbox

if TYPE_CHECKING:
    from ..agent import Agent
    from ..run_state import Run
    from ..task import Task

__all__ = ["Observation", "Toolbox", "act", "caches", "current_run", "task_toolbox"]


def caches(agent: Agent, crew: Any) -> bool:
    """Whether ``agent``'s tool results are cached in a run of ``crew`` (None: no crew).

    Opt-in, as in CrewAI 1.15: ``Crew(cache=True)`` turns it on for its agents (and its
    manager) unless an agent says ``cache=False``; an agent given ``cache=True`` explicitly
    caches on its own, in any crew or alone.
    """
    if not agent.cache:
        return False
    return "cache" in agent.model_fields_set or bool(getattr(crew, "cache", False))


def task_toolbox(run: Run, agent: Agent, task: Task | None, memory: Any = None) -> Toolbox | None:
    """The tools ``agent`` may use on ``task`` in ``run`` (None: answer without tools).

    The task's tools replace the agent's (as in CrewAI); an agent with
    ``allow_delegation=True`` gets the coworker tools over the crew's other agents; a
    hierarchical crew's manager gets them over every agent; ``allow_code_execution=True``
    adds the code interpreter; a task with a ``memory`` gets the memory tools (CrewAI's
    *Search memory* and *Save to memory*); ``agent.mcps`` servers' tools are added when the
    loop starts (:meth:`Toolbox.load`: a look-up once the servers are connected).
    """
    tools = task.native_tools() if task is not None and task.tools else agent.native_tools()
    if agent is run.manager:
        # as in CrewAI: a task with its own agent is delegated to that agent only
        target = task.agent if task is not None else None
        tools += _coworker_tools(run, [target] if target is not None else run.agents)
    elif agent.allow_delegation:
        coworkers = [a for a in run.agents if a is not agent]
        if coworkers:
            tools += _coworker_tools(run, coworkers)
    if agent.allow_code_execution:
        tools.append(_code_interpreter())
    if memory is not None:
        from ...tools.memory_tools import create_memory_tools

        tools += create_memory_tools(memory)
    if not tools and not agent.mcps:
        return None
    if run.tool_state is None:
        run.tool_state = ToolRunState()
    toolbox = Toolbox(tools, run.tool_state, cache=caches(agent, run.crew))
    if agent.mcps:
        toolbox.pending = (agent.mcps, agent)
    return toolbox


_made: weakref.WeakKeyDictionary[Any, dict[tuple[tuple[int, str], ...], list[BaseTool]]] = (
    weakref.WeakKeyDictionary()
)


def _coworker_tools(run: Run, coworkers: Sequence[Agent]) -> list[BaseTool]:
    """The coworker tools over ``coworkers``, made once per crew and set of coworkers (the
    tools hold no run state: a call finds its run in ``current_run``)."""
    if run.crew is None:
        return delegation_tools(coworkers)
    made = _made.setdefault(run.crew, {})
    key = tuple((id(a), a.role) for a in coworkers)  # the tools keep the agents: ids hold
    found = made.get(key)
    if found is None:
        found = made[key] = delegation_tools(coworkers)
    return found


_interpreter: Any = None


def _code_interpreter() -> BaseTool:
    global _interpreter
    if _interpreter is None:
        from ...tools import CodeInterpreterTool

        _interpreter = CodeInterpreterTool()
    return _interpreter
