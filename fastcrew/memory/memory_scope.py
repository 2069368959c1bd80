"""Views of a :class:`~.unified_memory.Memory` (CrewAI's ``MemoryScope`` / ``MemorySlice``):
a scope roots every save, recall, listing and forget at a path; a slice recalls (and lists)
across several. Paths given to a view are relative to it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from ..process_runtime import get_runtime
from . import browse
from .forgetting import aforget_at
from .recall import arecall_at
from .scopes import join_scope_paths, normalize_scope_path
from .types import ScopeInfo

if TYPE_CHECKING:
    from typing import Self

    from .types import MemoryMatch, MemoryRecord
    from .unified_memory import Memory

__all__ = ["MemoryScope", "MemorySlice"]


class _View:
    memory: Memory
    categories: list[str] | None = None

    def _paths(self, path: str | None) -> list[str]:
        """The absolute scopes ``path`` (relative to the view) stands for."""
        raise NotImplementedError

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
        """The best memories for ``query`` under the view's scopes (one search over all)."""
        paths: list[str | None] = list(self._paths(scope))
        cats = categories or self.categories
        return await arecall_at(
            self.memory, paths, query, cats, limit, source, include_private, depth
        )

    def recall(self, query: str, **kwargs: Any) -> list[MemoryMatch]:
        return _run(self.arecall(query, **kwargs), "recall")

    @property
    def shared(self) -> bool:
        return self.memory.shared

    def bind(self, memory: Memory) -> Self:
        """Use ``memory`` from now on (CrewAI's, after a checkpoint restore)."""
        self.memory = memory
        return self

    async def aextract_memories(self, content: str) -> list[str]:
        return await self.memory.aextract_memories(content)

    async def adrain_writes(self) -> None:
        await self.memory.adrain_writes()

    def extract_memories(self, content: str) -> list[str]:
        return _run(self.aextract_memories(content), "extract_memories")

    def drain_writes(self) -> None:
        _run(self.adrain_writes(), "drain_writes")


class MemoryScope(_View):
    """``memory`` seen from ``root_path`` (under the memory's ``root_scope``, as CrewAI's):
    saves land under it; recalls, listings and forgets stay inside it."""

    memory_kind: Literal["scope"] = "scope"

    def __init__(self, memory: Memory, root_path: str = "/") -> None:
        self.memory = memory
        self.root_scope = join_scope_paths(memory.root_scope, root_path)

    @classmethod
    def at(cls, memory: Memory, path: str) -> MemoryScope:
        """The view of ``memory`` at the absolute ``path`` (whatever its root)."""
        view = cls(memory)
        view.root_scope = normalize_scope_path(path)
        return view

    def __repr__(self) -> str:
        return f"MemoryScope({self.root_scope!r})"

    @property
    def root_path(self) -> str:
        return self.root_scope

    @property
    def read_only(self) -> bool:
        return self.memory.read_only

    def _path(self, scope: str | None) -> str:
        return join_scope_paths(self.root_scope, scope) if scope else self.root_scope

    def _paths(self, path: str | None) -> list[str]:
        return [self._path(path)]

    async def aremember(self, content: str, **kwargs: Any) -> MemoryRecord | None:
        kwargs.setdefault("root_scope", self.root_scope)
        return await self.memory.aremember(content, **kwargs)

    async def aremember_many(self, contents: Sequence[str], **kwargs: Any) -> list[MemoryRecord]:
        kwargs.setdefault("root_scope", self.root_scope)
        return await self.memory.aremember_many(contents, **kwargs)

    async def aforget(self, scope: str | None = None, **kwargs: Any) -> int:
        return await aforget_at(self.memory, self._path(scope), **kwargs)

    async def areset(self, scope: str | None = None) -> None:
        await self.aforget(scope)

    async def alist_scopes(self, path: str = "/") -> list[str]:
        return await browse.alist_scopes(self.memory, self._path(path))

    async def alist_records(
        self, scope: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[MemoryRecord]:
        return await browse.alist_records(self.memory, self._path(scope), limit, offset)

    async def ainfo(self, path: str = "/") -> ScopeInfo:
        return await browse.ainfo(self.memory, self._path(path))

    async def atree(self, path: str = "/", max_depth: int = 3) -> str:
        return await browse.atree(self.memory, self._path(path), max_depth)

    async def alist_categories(self, path: str | None = None) -> dict[str, int]:
        return await browse.alist_categories(self.memory, self._path(path))

    def scope(self, path: str) -> MemoryScope:
        """A narrower view under this one."""
        return MemoryScope.at(self.memory, self._path(path))

    subscope = scope  # CrewAI's name

    def remember(self, content: str, **kwargs: Any) -> MemoryRecord | None:
        return _run(self.aremember(content, **kwargs), "remember")

    def remember_many(self, contents: Sequence[str], **kwargs: Any) -> list[MemoryRecord]:
        return _run(self.aremember_many(contents, **kwargs), "remember_many")

    def forget(self, scope: str | None = None, **kwargs: Any) -> int:
        return _run(self.aforget(scope, **kwargs), "forget")

    def reset(self, scope: str | None = None) -> None:
        _run(self.areset(scope), "reset")

    def list_scopes(self, path: str = "/") -> list[str]:
        return _run(self.alist_scopes(path), "list_scopes")

    def list_records(
        self, scope: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[MemoryRecord]:
        return _run(self.alist_records(scope, limit, offset), "list_records")

    def info(self, path: str = "/") -> ScopeInfo:
        return _run(self.ainfo(path), "info")

    def tree(self, path: str = "/", max_depth: int = 3) -> str:
        return _run(self.atree(path, max_depth), "tree")

    def list_categories(self, path: str | None = None) -> dict[str, int]:
        return _run(self.alist_categories(path), "list_categories")


class MemorySlice(_View):
    """Several scopes of ``memory`` (absolute paths) recalled and listed together
    (read-only unless told otherwise; a writable slice saves into the scope a call names,
    else its first)."""

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

    def _paths(self, path: str | None) -> list[str]:
        return [join_scope_paths(s, path) if path else s for s in self.scopes]

    async def aremember(
        self, content: str, scope: str | None = None, **kwargs: Any
    ) -> MemoryRecord | None:
        """Save into ``scope`` (under the slice's first scope without one; fastcrew's
        default); nothing when the slice is read-only."""
        found = await self.aremember_many([content], scope, wait=True, **kwargs)
        return found[0] if found else None

    async def aremember_many(
        self, contents: Sequence[str], scope: str | None = None, **kwargs: Any
    ) -> list[MemoryRecord]:
        if self.read_only:
            return []
        path = self.scopes[0] if scope is None else scope
        return await self.memory.aremember_many(contents, root_scope=path, **kwargs)

    async def alist_scopes(self, path: str = "/") -> list[str]:
        found = [await browse.alist_scopes(self.memory, p) for p in self._paths(path)]
        return sorted({s for scopes in found for s in scopes})

    async def ainfo(self, path: str = "/") -> ScopeInfo:
        """Each scope's info added up (record counts summed, as CrewAI)."""
        infos = [await browse.ainfo(self.memory, p) for p in self._paths(path)]
        olds = [i.oldest_record for i in infos if i.oldest_record]
        news = [i.newest_record for i in infos if i.newest_record]
        return ScopeInfo(
            path=normalize_scope_path(path),
            record_count=sum(i.record_count for i in infos),
            categories=sorted({c for i in infos for c in i.categories}),
            oldest_record=min(olds) if olds else None,
            newest_record=max(news) if news else None,
            child_scopes=sorted({c for i in infos for c in i.child_scopes}),
        )

    async def alist_categories(self, path: str | None = None) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self._paths(path):
            for name, n in (await browse.alist_categories(self.memory, p)).items():
                counts[name] = counts.get(name, 0) + n
        return counts

    def remember(
        self, content: str, scope: str | None = None, **kwargs: Any
    ) -> MemoryRecord | None:
        return _run(self.aremember(content, scope, **kwargs), "remember")

    def remember_many(
        self, contents: Sequence[str], scope: str | None = None, **kwargs: Any
    ) -> list[MemoryRecord]:
        return _run(self.aremember_many(contents, scope, **kwargs), "remember_many")

    def list_scopes(self, path: str = "/") -> list[str]:
        return _run(self.alist_scopes(path), "list_scopes")

    def info(self, path: str = "/") -> ScopeInfo:
        return _run(self.ainfo(path), "info")

    def list_categories(self, path: str | None = None) -> dict[str, int]:
        return _run(self.alist_categories(path), "list_categories")


def _run(work: Any, api: str) -> Any:
    return get_runtime().run(work, api=f"Memory.{api}", async_api=f"Memory.a{api}")
