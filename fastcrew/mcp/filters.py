"""Tool filters of an MCP server config, as CrewAI has them.

A filter gets each tool of the server as a dict — ``name`` (sanitized, see ``names.py``),
``original_name``, ``description``, ``inputSchema`` — and keeps the tool when it returns
true. A *static* filter takes ``(tool)``; a *dynamic* one ``(context, tool)``, where
``context`` is a :class:`ToolFilterContext` naming the agent, so one server may give
different agents different tools. The two are told apart by the number of positional
parameters the callable takes (CrewAI tries ``(context, tool)`` and falls back to ``(tool)``
on a ``TypeError``; that fallback is kept for callables without a signature). A filter may
be ``async``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeAlias

from pydantic import BaseModel, Field

__all__ = [
    "StaticToolFilter",
    "ToolFilter",
    "ToolFilterContext",
    "apply_filter",
    "create_dynamic_tool_filter",
    "create_static_tool_filter",
    "is_dynamic",
]


class ToolFilterContext(BaseModel):
    """What a dynamic filter knows: the agent asking, the server, and a run context."""

    agent: Any = Field(..., description="The agent requesting tools.")
    server_name: str = Field(..., description="Name of the MCP server.")
    run_context: dict[str, Any] | None = Field(default=None)


ToolFilter: TypeAlias = (
    Callable[[ToolFilterContext, dict[str, Any]], bool] | Callable[[dict[str, Any]], bool]
)


class StaticToolFilter:
    """Keep tools by name: ``blocked_tool_names`` win over ``allowed_tool_names``; without
    an allow list every tool not blocked is kept."""

    def __init__(
        self,
        allowed_tool_names: list[str] | None = None,
        blocked_tool_names: list[str] | None = None,
    ) -> None:
        self.allowed_tool_names = set(allowed_tool_names or [])
        self.blocked_tool_names = set(blocked_tool_names or [])

    def __call__(self, tool: dict[str, Any]) -> bool:
        name = tool.get("name", "")
        if name in self.blocked_tool_names:
            return False
        return not self.allowed_tool_names or name in self.allowed_tool_names

    def __repr__(self) -> str:
        return (
            f"StaticToolFilter(allowed_tool_names={sorted(self.allowed_tool_names)}, "
            f"blocked_tool_names={sorted(self.blocked_tool_names)})"
        )


def create_static_tool_filter(
    allowed_tool_names: list[str] | None = None,
    blocked_tool_names: list[str] | None = None,
) -> Callable[[dict[str, Any]], bool]:
    """A :class:`StaticToolFilter` (CrewAI's helper)."""
    return StaticToolFilter(allowed_tool_names, blocked_tool_names)


def create_dynamic_tool_filter(
    filter_func: Callable[[ToolFilterContext, dict[str, Any]], bool],
) -> Callable[[ToolFilterContext, dict[str, Any]], bool]:
    """``filter_func`` itself: a ``(context, tool) -> bool`` filter (CrewAI's helper)."""
    return filter_func


def is_dynamic(tool_filter: Callable[..., Any]) -> bool | None:
    """Whether the filter takes ``(context, tool)``; None when its signature is unknown."""
    if isinstance(tool_filter, StaticToolFilter):
        return False
    try:
        parameters = inspect.signature(tool_filter).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return True
    required = sum(1 for p in positional if p.default is p.empty)
    return required >= 2 or (required == 0 and len(positional) >= 2)


async def apply_filter(
    tool_filter: Callable[..., Any] | None,
    tools: list[dict[str, Any]],
    context: Callable[[], ToolFilterContext],
) -> list[dict[str, Any]]:
    """The tools ``tool_filter`` keeps (all without one); ``context()`` makes the dynamic
    filter's context."""
    if tool_filter is None:
        return tools
    dynamic = is_dynamic(tool_filter)
    made = context() if dynamic is not False else None
    kept = []
    for tool in tools:
        if dynamic is None:
            try:
                verdict = tool_filter(made, dict(tool))
            except (TypeError, AttributeError):  # CrewAI's fallback to a static filter
                verdict = tool_filter(dict(tool))
        elif dynamic:
            verdict = tool_filter(made, dict(tool))
        else:
            verdict = tool_filter(dict(tool))
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if verdict:
            kept.append(tool)
    return kept
