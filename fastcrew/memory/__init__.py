"""Memory, as CrewAI's unified memory: :class:`Memory` (``fastcrew.memory.unified_memory``,
CrewAI's path) saves LLM-analysed memories in fastcrew's vector store and recalls them by
similarity, recency and importance; scopes are paths (``/crew/<name>/agent/<role>``).
In a ``fastcrew batch`` each row has its own scope unless the memory is ``shared``
(docs/memory.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .memory_scope import MemoryScope, MemorySlice
    from .types import MemoryMatch, MemoryRecord
    from .unified_memory import Memory

__all__ = ["Memory", "MemoryMatch", "MemoryRecord", "MemoryScope", "MemorySlice"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "Memory": "fastcrew.memory.unified_memory",
        "MemoryMatch": "fastcrew.memory.types",
        "MemoryRecord": "fastcrew.memory.types",
        "MemoryScope": "fastcrew.memory.memory_scope",
        "MemorySlice": "fastcrew.memory.memory_scope",
    },
)
