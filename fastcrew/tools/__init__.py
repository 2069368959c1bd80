"""Tools for agents, with CrewAI's names: ``BaseTool``, ``@tool``, ``CodeInterpreterTool``.

``from fastcrew.tools import BaseTool, tool`` replaces ``from crewai.tools import ...``;
``CrewStructuredTool`` is CrewAI's structured tool (``BaseTool.to_structured_tool()``).

**The interface of the agent loop** (``fastcrew.runtime.acting`` uses exactly this):

- ``ToolRunState()`` — one per run: the result cache (used by calls made with ``cache=True``:
  the opt-in, ``fastcrew.runtime.acting.caches``) and the counters
  ``tools_errors`` / ``used_tools`` / ``delegations`` / ``cache_hits``.
- ``await tool.ainvoke(arguments, state=state, cache=None) -> ToolResult`` — one call:
  ``arguments`` is the model's JSON text (or a mapping). Never raises for bad arguments,
  a used-up ``max_usage_count`` or an exception in the tool: ``ToolResult.text`` is the
  observation either way (``error``, ``error_kind``, ``from_cache``, ``as_answer``, ``value``).
  Async tools are awaited on the caller's loop, sync ones run in ``Runtime.run_in_thread``;
  cancellation goes through. Details: :mod:`fastcrew.tools.invoke`.
- ``tool.openai_spec()`` — the request's ``tools`` entry; ``tool.wire_name`` — its function
  name (:func:`openai_name`; :func:`tools_by_wire_name` maps ``tool_calls`` names back and
  refuses two tools the model could not tell apart);
  ``tool.react_description()`` — the ReAct prompt block; ``tool.result_as_answer``.
"""

from .base import BaseTool, Tool, tools_by_wire_name
from .code_interpreter import CodeInterpreterSchema, CodeInterpreterTool, CodeRun, run_python
from .decorator import tool
from .invoke import ToolResult, ToolRunState
from .schema import openai_name
from .structured_tool import CrewStructuredTool

__all__ = [
    "BaseTool",
    "CodeInterpreterSchema",
    "CodeInterpreterTool",
    "CodeRun",
    "CrewStructuredTool",
    "Tool",
    "ToolResult",
    "ToolRunState",
    "openai_name",
    "run_python",
    "tool",
    "tools_by_wire_name",
]
