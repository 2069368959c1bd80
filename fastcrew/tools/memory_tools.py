"""The memory tools CrewAI gives every agent whose task has a memory (its
``crewai.tools.memory_tools``): *Search memory* (one or more queries) and *Save to memory*
(left out when the memory is read-only). They work on any memory, scope or slice object
(``arecall`` / ``aremember`` / ``aremember_many``), so this module imports no memory code."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from .base import BaseTool

__all__ = [
    "RecallMemorySchema",
    "RecallMemoryTool",
    "RememberSchema",
    "RememberTool",
    "create_memory_tools",
]

RECALL_LIMIT = 20
"""Memories returned per query (CrewAI's)."""

RECALL_DESCRIPTION = (
    "Search the memory shared by the team for facts, decisions, preferences or earlier "
    "results. Give one query, or several to look for several things at once. To count, "
    "add up or list things, search with several phrasings: one search may miss items "
    "described differently."
)
REMEMBER_DESCRIPTION = (
    "Keep facts, decisions, observations or lessons in memory, so that you or other "
    "agents can recall them later. Give several items at once when you have several."
)


class _MemoryTool(BaseTool):
    """A memory tool: made per task, holding the task's memory view."""

    memory: Any = Field(exclude=True)


class RecallMemorySchema(BaseModel):
    queries: list[str] = Field(
        description="One query for a focused search, or several to search for several things."
    )


class RecallMemoryTool(_MemoryTool):
    """*Search memory*: the matches of every query (each memory once), formatted as CrewAI
    shows them."""

    name: str = "Search memory"
    description: str = RECALL_DESCRIPTION
    args_schema: type[BaseModel] = RecallMemorySchema

    async def _arun(self, queries: list[str] | str, **_: Any) -> str:
        lines: list[str] = []
        seen: set[str] = set()
        for query in [queries] if isinstance(queries, str) else queries:
            for match in await self.memory.arecall(query, limit=RECALL_LIMIT):
                if match.record.id not in seen:
                    seen.add(match.record.id)
                    lines.append(match.format())
        return "Found memories:\n" + "\n".join(lines) if lines else "No relevant memories found."


class RememberSchema(BaseModel):
    contents: list[str] = Field(description="One or more things to remember.")


class RememberTool(_MemoryTool):
    """*Save to memory*: one item is saved at once (its scope and importance reported),
    several in the background."""

    name: str = "Save to memory"
    description: str = REMEMBER_DESCRIPTION
    args_schema: type[BaseModel] = RememberSchema

    async def _arun(self, contents: list[str] | str, **_: Any) -> str:
        items = [contents] if isinstance(contents, str) else list(contents)
        if len(items) == 1:
            record = await self.memory.aremember(items[0])
            if record is None:
                return "Already in memory: nothing new saved."
            return f"Saved to memory (scope={record.scope}, importance={record.importance:.1f})."
        await self.memory.aremember_many(items)
        return f"Saving {len(items)} items to memory in background."


def create_memory_tools(memory: Any) -> list[BaseTool]:
    """*Search memory*, and *Save to memory* unless ``memory`` is read-only."""
    tools: list[BaseTool] = [RecallMemoryTool(memory=memory)]
    if not getattr(memory, "read_only", False):
        tools.append(RememberTool(memory=memory))
    return tools
