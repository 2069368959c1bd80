"""Memory, as CrewAI's unified memory: :class:`Memory` (``fastcrew.memory.unified_memory``,
CrewAI's path) saves LLM-analysed memories in fastcrew's vector store and recalls them by
similarity, recency and importance; scopes are paths (``/crew/<name>/agent/<role>``).
In a ``fastcrew batch`` each row has its own scope unless the memory is ``shared``
(docs/memory.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .memory_scope import MemoryScope, MemorySlice
    from .types import MemoryMatch, MemoryRecord
    from .unified_memory import Memory

__all__ = ["Memory", "MemoryMatch", "MemoryRecord", "MemoryScope", "MemorySlice"]

_WHERE = {
    "Memory": ".unified_memory",
    "MemoryMatch": ".types",
    "MemoryRecord": ".types",
    "MemoryScope": ".memory_scope",
    "MemorySlice": ".memory_scope",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name], __name__), name)
