"""Tools from the ecosystem, used as they are: CrewAI tool objects (``crewai_tools``, a
``crewai.tools.BaseTool`` subclass, CrewAI's ``@tool``) and LangChain tools become fastcrew
tools wherever fastcrew takes tools (``Agent.tools``, ``Task.tools``, ``@CrewBase``).

- :func:`adapt_tool` — one object as a :class:`~fastcrew.tools.BaseTool` (a fastcrew tool as
  it is), or a ``ConfigurationError`` naming the kinds accepted.
- :class:`ToolAdapters` — what ``Agent`` and ``Task`` keep: each foreign object is adapted
  once, and their ``tools`` lists keep the objects the user gave.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...errors import ConfigurationError
from ..base import BaseTool
from .crewai_tool import CrewAITool
from .langchain_tool import LangChainJsonTool, LangChainTool, adapt_langchain
from .source import foreign_kind

__all__ = [
    "ACCEPTED",
    "CrewAITool",
    "LangChainJsonTool",
    "LangChainTool",
    "ToolAdapters",
    "adapt_tool",
    "check_tool",
    "foreign_kind",
]

ACCEPTED = (
    "fastcrew tools (fastcrew.tools.BaseTool subclasses, @tool functions), CrewAI tools "
    "(crewai.tools.BaseTool: crewai_tools, subclasses, CrewAI's @tool, MCPServerAdapter's "
    "tools) and LangChain tools (langchain_core.tools.BaseTool, StructuredTool, @tool)"
)


def check_tool(item: Any, owner: str) -> None:
    """Raise ``ConfigurationError`` unless ``item`` is a tool fastcrew takes."""
    if isinstance(item, BaseTool) or foreign_kind(item) is not None:
        return
    hint = (
        "; decorate a function with @tool (from fastcrew.tools import tool)"
        if callable(item)
        else ""
    )
    raise ConfigurationError(
        f"{owner}(tools=...) got {type(item).__name__}, which is not a tool. It takes "
        f"{ACCEPTED}{hint}."
    )


def adapt_tool(item: Any, owner: str = "Agent") -> BaseTool:
    """``item`` as a fastcrew tool (a new adapter for a foreign object)."""
    if isinstance(item, BaseTool):
        return item
    kind = foreign_kind(item)
    if kind == "crewai":
        return CrewAITool.adapt(item)
    if kind == "langchain":
        return adapt_langchain(item)
    check_tool(item, owner)
    raise AssertionError("unreachable")  # pragma: no cover


class ToolAdapters:
    """The fastcrew tools of a list that may hold foreign tool objects, each adapted once
    (kept while its object is in the list)."""

    __slots__ = ("_made",)

    def __init__(self) -> None:
        self._made: dict[int, BaseTool] = {}

    def tools(self, items: Iterable[Any]) -> list[BaseTool]:
        """``items`` as fastcrew tools, in order."""
        out: list[BaseTool] = []
        for item in items:
            if isinstance(item, BaseTool):
                out.append(item)
                continue
            made = self._made.get(id(item))
            if made is None or getattr(made, "source", None) is not item:
                made = self._made[id(item)] = adapt_tool(item)
            out.append(made)
        return out
