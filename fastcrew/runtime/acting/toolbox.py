"""The tools one agent may use on one task, with the run's cache and counters.

A :class:`Toolbox` is made per task run (cheap: it holds references); the OpenAI function
specs and ReAct descriptions of a tool are computed once per tool object. Calls go through
``fastcrew.tools`` — argument validation, the per-run cache, ``max_usage_count``, errors as
observations — and several calls of one assistant message run concurrently, their results
returned in the model's order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...tools import BaseTool, ToolRunState, openai_name
from .react import react_instructions

if TYPE_CHECKING:
    from ..trace import Trace

__all__ = ["Observation", "ToolRunState", "Toolbox"]


@dataclass(slots=True, frozen=True)
class Observation:
    """What one tool call gave back to the model."""

    call_id: str
    text: str
    as_answer: bool = False
    """The tool has ``result_as_answer=True`` and succeeded: ``text`` is the final answer."""


class Toolbox:
    """Named tools for one agent on one task; ``state`` is the run's cache and counters,
    ``cache`` the agent's ``cache`` setting."""

    __slots__ = (
        "_by_name",
        "_react",
        "cache",
        "delegations",
        "pending",
        "state",
        "tools",
        "tools_errors",
        "trace",
        "used_tools",
    )

    def __init__(self, tools: Sequence[BaseTool], state: ToolRunState, *, cache: bool = True):
        self.tools = list(tools)
        self.state = state
        self.cache = cache
        self.used_tools = self.tools_errors = self.delegations = 0
        """This task's calls (the run's totals are in ``state``)."""
        self.trace: Trace | None = None
        """Set for a ``verbose=True`` run: each call is printed."""
        self.pending: tuple[Sequence[Any], Any] | None = None
        """``(agent.mcps, agent)`` whose tools :meth:`load` adds."""
        self._by_name: dict[str, BaseTool] = {}
        self._react: str | None = None
        self._index(self.tools)

    def _index(self, tools: Sequence[BaseTool]) -> None:
        for tool in tools:
            self._by_name.setdefault(tool.wire_name, tool)

    async def load(self) -> None:
        """Add the tools of the agent's MCP servers (connecting on first use)."""
        if self.pending is None:
            return
        from ...mcp import mcp_tools

        mcps, agent = self.pending
        self.pending = None
        found = await mcp_tools(mcps, agent)
        self.tools += found
        self._index(found)

    @property
    def counts(self) -> tuple[int, int, int]:
        """(used_tools, tools_errors, delegations) of this task so far."""
        return self.used_tools, self.tools_errors, self.delegations

    def specs(self) -> list[dict[str, Any]]:
        """The OpenAI ``tools`` of a request."""
        return [tool.openai_spec() for tool in self.tools]

    def react_prompt(self) -> str:
        """The tools section of a ReAct system prompt: each tool as a ``Tool Name / Tool
        Arguments / Tool Description`` block, and the format (made once)."""
        if self._react is None:
            blocks = [tool.react_description() for tool in self.tools]
            self._react = react_instructions(blocks, self.names())
        return self._react

    def names(self) -> list[str]:
        """The tools' names as the model should write them (ReAct)."""
        return [tool.name for tool in self.tools]

    def find(self, name: str) -> BaseTool | None:
        """The tool the model named (its wire name, or its name as written: ReAct)."""
        return self._by_name.get(name) or self._by_name.get(openai_name(name))

    async def call(
        self, call_id: str, name: str, arguments: str | Mapping[str, Any]
    ) -> Observation:
        """Run one call; every failure becomes the observation text (the model may retry)."""
        tool = self.find(name)
        if tool is None:
            self.state.tools_errors += 1
            self.tools_errors += 1
            known = ", ".join(self.names())
            text = f"There is no tool named {name!r}. Use one of these, exactly: {known}."
            if self.trace is not None:
                self.trace.tool(name, arguments, text, True)
            return Observation(call_id, text)
        result = await tool.ainvoke(arguments, state=self.state, cache=self.cache)
        if self.trace is not None:
            self.trace.tool(tool.name, arguments, result.text, result.error)
        if result.error:
            self.tools_errors += result.error_kind != "usage_limit"
        else:
            self.used_tools += 1
            if getattr(tool, "delegates", False):  # counted here only, for task and run
                self.delegations += 1
                self.state.delegations += 1
        return Observation(call_id, result.text, result.as_answer)

    async def call_all(self, calls: Sequence[Mapping[str, Any]]) -> list[Observation]:
        """Run an assistant message's ``tool_calls`` concurrently; results in call order."""
        if len(calls) == 1:
            return [await self._call(calls[0])]
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._call(call)) for call in calls]
        return [task.result() for task in tasks]

    def _call(self, call: Mapping[str, Any]) -> Coroutine[Any, Any, Observation]:
        function = call.get("function") or {}
        return self.call(
            str(call.get("id") or ""),
            str(function.get("name") or ""),
            function.get("arguments") or "{}",
        )
