"""Memory in crews, as CrewAI wires it: ``memory=True`` on a crew is a :class:`Memory` rooted
at ``/crew/<crew name>`` using the first agent's LLM and the crew's embedder; before each
task the task's description recalls (5 memories, under the memory's root); after it the
task and its result are handed to the LLM, which extracts memories, saved under
``<root>/agent/<role>``. In a batch row the memory is seen through the row's scope
(``<root>/row/<input index>``) unless it is ``shared``."""

from __future__ import annotations

import logging
from typing import Any

from ..errors import ConfigurationError
from .analyze import DEFAULT_LLM
from .scopes import current_row, join_scope_paths, row_scope, sanitize_scope_name

__all__ = [
    "KICKOFF_RECALL_LIMIT",
    "RECALL_LIMIT",
    "adrain_all",
    "agent_memory",
    "arecall_text",
    "asave_kickoff",
    "asave_task",
    "check_memory",
    "crew_memory",
    "row_view",
    "task_memory",
]

_log = logging.getLogger(__name__)

RECALL_LIMIT = 5
"""Memories recalled before a task (CrewAI's)."""
KICKOFF_RECALL_LIMIT = 20
"""Memories recalled before an ``Agent.kickoff`` (CrewAI's)."""


def check_memory(value: Any, owner: str) -> Any:
    """``memory=``: a bool, None, or a :class:`Memory` / ``MemoryScope`` / ``MemorySlice``."""
    if value is None or isinstance(value, bool):
        return value
    if getattr(value, "memory_kind", None) in ("memory", "scope", "slice"):
        return value
    raise ConfigurationError(
        f"{owner} memory must be True, False or a fastcrew.memory Memory (or its scope / "
        f"slice), not {type(value).__name__}"
    )


def crew_memory(name: str | None, value: Any, llm: Any, embedder: Any) -> Any:
    """The memory a crew's ``memory=`` means (None when off); ``True`` builds one (no I/O)."""
    if not value:
        return None
    if value is True:
        from .unified_memory import Memory

        return Memory(
            llm=llm if llm is not None else DEFAULT_LLM,
            embedder=embedder,
            root_scope=f"/crew/{sanitize_scope_name(name or 'crew')}",
        )
    return value


def agent_memory(llm: Any, embedder: Any) -> Any:
    """The memory an agent's ``memory=True`` means: a :class:`Memory` with the agent's LLM
    and embedder (no root scope, as CrewAI's)."""
    from .unified_memory import Memory

    return Memory(llm=llm if llm is not None else DEFAULT_LLM, embedder=embedder)


def task_memory(agent: Any, crew: Any) -> Any:
    """The memory ``agent`` uses in a run of ``crew`` (None: ``Agent.kickoff``): its own,
    else the crew's, seen through the batch row's scope; None without memory."""
    memory = agent.memory_for(getattr(crew, "embedder", None))
    if memory is None and crew is not None:
        memory = crew.memory_instance
    return row_view(memory)


def row_view(memory: Any) -> Any:
    """``memory`` as this batch row sees it: its scope ``/row/<input index>`` under the
    memory's root, unless ``shared`` (or outside a batch row: ``memory`` itself)."""
    row = current_row()
    if memory is None or row is None or getattr(memory, "shared", False):
        return memory
    from .memory_scope import MemorySlice

    if isinstance(memory, MemorySlice):
        return MemorySlice(
            memory.memory,
            [join_scope_paths(s, row_scope(row)) for s in memory.scopes],
            categories=memory.categories,
            read_only=memory.read_only,
        )
    root = getattr(memory, "root_scope", None)
    from .memory_scope import MemoryScope

    base = memory.memory if isinstance(memory, MemoryScope) else memory
    return MemoryScope.at(base, join_scope_paths(root, row_scope(row)))


async def adrain_all(memories: list[Any]) -> None:
    """Wait for the background saves of every memory given (each backing ``Memory`` once;
    None and views of one memory allowed), as CrewAI does before a kickoff returns."""
    seen: set[int] = set()
    for mem in memories:
        backing = getattr(mem, "memory", mem)
        if mem is None or id(backing) in seen:
            continue
        seen.add(id(backing))
        await backing.adrain_writes()


async def arecall_text(memory: Any, query: str, limit: int = RECALL_LIMIT) -> str:
    """``Relevant memories:`` and the matches (``MemoryMatch.format``), or "" (also when
    the recall fails: logged, as CrewAI)."""
    try:
        matches = await memory.arecall(query, limit=limit)
    except Exception as exc:  # a failed recall does not fail the task (CrewAI's)
        _log.error("memory recall failed: %s", exc)
        return ""
    if not matches:
        return ""
    return "Relevant memories:\n" + "\n".join(m.format() for m in matches)


async def asave_kickoff(memory: Any, request: str, role: str, result: str) -> list[Any]:
    """Extract the memories of an ``Agent.kickoff`` and save them (CrewAI's content, the
    memory's own scopes); errors are logged, never raised."""
    if memory is None or getattr(memory, "read_only", False):
        return []
    try:
        content = f"Input: {request}\nAgent: {role}\nResult: {result}"
        extracted = await memory.aextract_memories(content)
        saved: list[Any] = await memory.aremember_many(extracted, wait=True) if extracted else []
        return saved
    except Exception as exc:  # a failed save does not fail the kickoff (CrewAI's)
        _log.error("failed to save the kickoff to memory: %s", exc)
        return []


async def asave_task(
    memory: Any, description: str, role: str, expected: str, result: str
) -> list[Any]:
    """Extract the memories of a finished task and save them under ``<root>/agent/<role>``
    (CrewAI's content and scope); errors are logged, never raised."""
    if memory is None or getattr(memory, "read_only", False):
        return []
    content = f"Task: {description}\nAgent: {role}\nExpected result: {expected}\nResult: {result}"
    try:
        extracted = await memory.aextract_memories(content)
        if not extracted:
            return []
        root = getattr(memory, "root_scope", None)
        if isinstance(root, str) and root:
            agent_root = join_scope_paths(root, f"/agent/{sanitize_scope_name(role)}")
            saved: list[Any] = await memory.aremember_many(
                extracted, agent_role=role, root_scope=agent_root, wait=True
            )
        else:
            saved = await memory.aremember_many(extracted, agent_role=role, wait=True)
        return saved
    except Exception as exc:  # a failed save does not fail the task (CrewAI's)
        _log.error("failed to save to memory: %s", exc)
        return []
