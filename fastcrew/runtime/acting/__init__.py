"""Agents that act: the tool loop (native function calling or ReAct), delegation between
coworkers. ``fastcrew.tools`` defines the tools; this package runs them inside a task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...tools import BaseTool, ToolRunState
from .delegation import delegation_tools
from .steps import act, current_run
from .toolbox import Observation, Toolbox

if TYPE_CHECKING:
    from ..agent import Agent
    from ..run_state import Run
    from ..task import Task

__all__ = ["Observation", "Toolbox", "act", "current_run", "task_toolbox"]


def task_toolbox(run: Run, agent: Agent, task: Task | None) -> Toolbox | None:
    """The tools ``agent`` may use on ``task`` in ``run`` (None: answer without tools).

    The task's tools replace the agent's (as in CrewAI); an agent with
    ``allow_delegation=True`` gets the coworker tools over the crew's other agents; a
    hierarchical crew's manager gets them over every agent; ``allow_code_execution=True``
    adds the code interpreter.
    """
    tools: list[BaseTool] = list(task.tools if task is not None and task.tools else agent.tools)
    if agent is run.manager:
        tools += delegation_tools(run.agents)
    elif agent.allow_delegation:
        coworkers = [a for a in run.agents if a is not agent]
        if coworkers:
            tools += delegation_tools(coworkers)
    if agent.allow_code_execution:
        tools.append(_code_interpreter())
    if not tools:
        return None
    if run.tool_state is None:
        run.tool_state = ToolRunState()
    return Toolbox(tools, run.tool_state, cache=agent.cache)


_interpreter: Any = None


def _code_interpreter() -> BaseTool:
    global _interpreter
    if _interpreter is None:
        from ...tools import CodeInterpreterTool

        _interpreter = CodeInterpreterTool()
    return _interpreter
