"""Views of a :class:`~.unified_memory.Memory` (CrewAI's ``MemoryScope`` / ``MemorySlice``):
a scope roots every save, recall and forget at a path; a slice recalls across several."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from ..process_runtime import get_runtime
from .scopes import join_scope_paths, normalize_scope_path

if TYPE_CHECKING:
    from .types import MemoryMatch, MemoryRecord
    from .unified_memory import Memory

__all__ = ["MemoryScope", "MemorySlice"]


class MemoryScope:
    """``memory`` seen from the absolute scope ``root_path``: saves land under it, recalls
    and forgets stay inside it."""

    memory_kind: Literal["scope"] = "scope"

    def __init__(self, memory: Memory, root_path: str) -> None:
        self.memory = memory
        self.root_scope = normalize_scope_path(root_path)

    def __repr__(self) -> str:
        return f"MemoryScope({self.root_scope!r})"

    @property
    def read_only(self) -> bool:
        return self.memory.read_only

    @property
    def shared(self) -> bool:
        return self.memory.shared

    def _path(self, scope: str | None) -> str:
        return join_scope_paths(self.root_scope, scope) if scope else self.root_scope

    async def aremember(self, content: str, **kwargs: Any) -> MemoryRecord | None:
        found = await self.aremember_many([content], **kwargs)
        return found[0] if found else None

    async def aremember_many(
        self, contents: Sequence[str], *, root_scope: str | None = None, **kwargs: Any
    ) -> list[MemoryRecord]:
        root = root_scope if root_scope is not None else self.root_scope
        return await self.memory.aremember_many(contents, root_scope=root, **kwargs)

    async def arecall(
        self,
        query: str,
        scope: str | None = None,
        categories: list[str] | None = None,
        limit: int = 10,
        depth: str = "deep",
        source: str | None = None,
        include_private: bool = False,
    ) -> list[MemoryMatch]:
        return await self.memory._arecall_at(
            [self._path(scope)], query, categories, limit, source, include_private, depth
        )

    async def aforget(self, scope: str | None = None, **kwargs: Any) -> int:
        return await self.memory._aforget_at(self._path(scope), **kwargs)

    async def aextract_memories(self, content: str) -> list[str]:
        return await self.memory.aextract_memories(content)

    def scope(self, path: str) -> MemoryScope:
        return MemoryScope(self.memory, self._path(path))

    def remember(self, content: str, **kwargs: Any) -> MemoryRecord | None:
        return _run(self.aremember(content, **kwargs), "remember")

    def recall(self, query: str, **kwargs: Any) -> list[MemoryMatch]:
        return _run(self.arecall(query, **kwargs), "recall")

    def forget(self, scope: str | None = None, **kwargs: Any) -> int:
        return _run(self.aforget(scope, **kwargs), "forget")


class MemorySlice:
    """Several scopes of ``memory`` recalled together (read-only unless told otherwise;
    a writable slice saves under its first scope)."""

    memory_kind: Literal["slice"] = "slice"

    def __init__(
        self,
        memory: Memory,
        scopes: Sequence[str],
        categories: list[str] | None = None,
        read_only: bool = True,
    ) -> None:
        self.memory = memory
        self.scopes = [normalize_scope_path(s) for s in scopes] or ["/"]
        self.categories = categories
        self.read_only = read_only
        self.root_scope: str | None = None

    def __repr__(self) -> str:
        return f"MemorySlice({self.scopes!r}, read_only={self.read_only})"

    @property
    def shared(self) -> bool:
        return self.memory.shared

    async def aremember(self, content: str, **kwargs: Any) -> MemoryRecord | None:
        found = await self.aremember_many([content], **kwargs)
        return found[0] if found else None

    async def aremember_many(
        self, contents: Sequence[str], *, root_scope: str | None = None, **kwargs: Any
    ) -> list[MemoryRecord]:
        if self.read_only:
            return []
        root = root_scope if root_scope is not None else self.scopes[0]
        return await self.memory.aremember_many(contents, root_scope=root, **kwargs)

    async def arecall(
        self,
        query: str,
        scope: str | None = None,
        categories: list[str] | None = None,
        limit: int = 10,
        depth: str = "deep",
        source: str | None = None,
        include_private: bool = False,
    ) -> list[MemoryMatch]:
        paths: list[str | None] = (
            [join_scope_paths(s, scope) for s in self.scopes] if scope else list(self.scopes)
        )
        return await self.memory._arecall_at(
            paths, query, categories or self.categories, limit, source, include_private, depth
        )

    async def aextract_memories(self, content: str) -> list[str]:
        return await self.memory.aextract_memories(content)

    def remember(self, content: str, **kwargs: Any) -> MemoryRecord | None:
        return _run(self.aremember(content, **kwargs), "remember")

    def recall(self, query: str, **kwargs: Any) -> list[MemoryMatch]:
        return _run(self.arecall(query, **kwargs), "recall")


def _run(work: Any, api: str) -> Any:
    return get_runtime().run(work, api=f"Memory.{api}", async_api=f"Memory.a{api}")
