"""``Crew.reset_memories(command_type)``: CrewAI's reset of one crew's memory and knowledge.

Where ``fastcrew reset-memories`` (:mod:`fastcrew.memory.reset`) empties whole stores, this
resets what one crew owns:

- ``"memory"`` (and CrewAI's legacy ``"long"``, ``"short"``, ``"entity"``, ``"external"``):
  the crew's memory, through its ``areset``: a ``Memory`` loses everything under its
  ``root_scope`` (``/crew/<name>`` for ``memory=True``: every task's saves, which land in
  ``/crew/<name>/agent/<role>``; the whole store for a ``Memory`` without a root scope), a
  ``MemoryScope`` everything under its path. Saves started before are waited for first.
  Other crews', agents' and flows' memories in the same store are kept (CrewAI resets the
  whole store: ``Memory.reset_all``; that is ``fastcrew reset-memories --memory``).
- ``"knowledge"``: the crew's knowledge and every agent's (their ``Knowledge``'s
  ``areset``: the collection is emptied and indexed again at the next kickoff).
- ``"agent_knowledge"``: the agents' knowledge only.
- ``"kickoff_outputs"``: nothing: fastcrew keeps no kickoff task outputs (no replay store).
- ``"all"``: each of the above the crew has (none missing is an error).

As in CrewAI, an unknown type is a ``ValueError`` (``ConfigurationError``), resetting
something the crew does not have, or a failing reset, a ``RuntimeError``.
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import ConfigurationError

__all__ = ["COMMAND_TYPES", "areset_crew_memories"]

_log = logging.getLogger("fastcrew.runtime")

COMMAND_TYPES = frozenset({"memory", "knowledge", "agent_knowledge", "kickoff_outputs", "all"})
"""What ``Crew.reset_memories`` takes (CrewAI's command types)."""
_LEGACY_MEMORY = frozenset({"long", "short", "entity", "external"})
"""CrewAI's old memory kinds, all meaning the unified memory now."""

_NAMES = {
    "memory": "Memory",
    "knowledge": "Crew Knowledge and Agent Knowledge",
    "agent_knowledge": "Agent Knowledge",
}
"""CrewAI's display names, kept in the errors (scripts match on them)."""


async def _areset_memory(memory: Any) -> None:
    reset = getattr(memory, "areset", None)
    if reset is None:  # a MemorySlice: a view over several scopes, never reset as a whole
        raise TypeError(
            f"a {type(memory).__name__} cannot be reset; give the crew a Memory or a "
            "MemoryScope, or reset the slice's memory itself"
        )
    await reset()


async def _areset_knowledges(knowledges: list[Any]) -> None:
    for knowledge in knowledges:  # one at a time: two may share a storage
        await knowledge.areset()


async def _areset_one(crew: Any, kind: str, *, required: bool) -> None:
    """Reset one kind; when the crew lacks it, raise if ``required``, else skip."""
    work: Any
    if kind == "kickoff_outputs":
        _log.info("crew %r: no kickoff outputs are kept; nothing to reset", crew.name)
        return
    if kind == "memory":
        memory = crew.memory_instance
        work = None if memory is None else _areset_memory(memory)
    else:
        knowledges = crew.knowledges(crew_own=kind == "knowledge")
        work = _areset_knowledges(knowledges) if knowledges else None
    name = _NAMES[kind]
    if work is None:
        if required:
            raise RuntimeError(
                f"crew {crew.name!r} has nothing to reset for {kind!r}: "
                f"{name} memory system is not initialized"
            )
        return
    try:
        await work
    except Exception as exc:
        raise RuntimeError(f"crew {crew.name!r}: failed to reset {name} memory: {exc}") from exc
    _log.info("crew %r: %s memory has been reset", crew.name, name)


async def areset_crew_memories(crew: Any, command_type: str) -> None:
    """Reset what ``command_type`` names of ``crew`` (the module's docstring); awaitable
    form of ``Crew.reset_memories``."""
    kind = "memory" if command_type in _LEGACY_MEMORY else command_type
    if kind not in COMMAND_TYPES:
        raise ConfigurationError(
            f"invalid command type {command_type!r} for reset_memories; use one of: "
            f"{', '.join(sorted(COMMAND_TYPES))}"
        )
    if kind != "all":
        await _areset_one(crew, kind, required=True)
        return
    for each in ("memory", "kickoff_outputs", "knowledge"):  # knowledge covers the agents'
        await _areset_one(crew, each, required=False)
