"""``Memory``: CrewAI's unified memory over fastcrew's vector store.

Records live in the vector store ``$FASTCREW_STORAGE_DIR/memory``, a table per embedder
(``memory__<digest of endpoint, model, dimensions>``), each with its scope path, categories,
metadata, importance and creation time. A save without its importance or categories is
analysed by the memory's LLM first (:mod:`.analyze`); a recall (:mod:`.recall`) embeds the
query, searches the scope and everything under it, and ranks the hits by CrewAI's composite
score (:mod:`.types`). Nothing is opened or resolved before the first call.

Saving (:mod:`.encoding`) consolidates with similar stored memories; ``remember_many`` saves
in the background (:mod:`.pending`), and reads wait for those saves. A record's id is a
digest of its scope and content. The listings are computed in :mod:`.browse`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from ..errors import ConfigurationError
from ..process_runtime import get_runtime
from . import browse
from .analyze import DEFAULT_LLM, aextract_memories
from .encoding import SaveRequest, aencode, aupdate
from .forgetting import aforget_at
from .pending import PendingSaves
from .recall import arecall_at
from .records import STORE_NAME
from .scopes import join_scope_paths, normalize_scope_path
from .types import MemoryMatch, MemoryRecord, ScopeInfo, ScoreWeights

if TYPE_CHECKING:
    from ..embeddings import Embedder
    from ..vectors import VectorTable
    from .memory_scope import MemoryScope, MemorySlice

__all__ = ["STORE_NAME", "Memory"]


class Memory(BaseModel):
    """CrewAI's ``Memory``: ``remember`` / ``recall`` / ``forget`` / ``scope`` / ``slice`` /
    ``reset`` with async twins (``aremember``, ``arecall``, ...).

    ``llm``: a model string or an LLM (analysis of saves, extraction of a task's memories);
    ``embedder``: CrewAI's ``embedder=`` dict or a :class:`~fastcrew.embeddings.Embedder`
    (None: OpenAI's ``text-embedding-3-small``); ``storage``: ``"lancedb"`` (the default
    store) or a folder path. ``root_scope`` nests every scope given or inferred under it.
    ``shared`` (fastcrew's): in a ``fastcrew batch``, rows share this memory instead of
    each row having its own (docs/memory.md)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    memory_kind: Literal["memory"] = "memory"
    llm: Any = DEFAULT_LLM
    storage: str | os.PathLike[str] = "lancedb"
    embedder: Any = None
    recency_weight: float = 0.3
    semantic_weight: float = 0.5
    importance_weight: float = 0.2
    recency_half_life_days: int = 30
    consolidation_threshold: float = 0.85
    consolidation_limit: int = 5
    batch_dedup_threshold: float = 0.98
    default_importance: float = 0.5
    confidence_threshold_high: float = 0.8
    confidence_threshold_low: float = 0.5
    complex_query_threshold: float = 0.7
    exploration_budget: int = 1
    query_analysis_threshold: int = 200
    read_only: bool = False
    root_scope: str | None = None
    shared: bool = Field(default=False)
    """fastcrew: in a batch, every row reads and writes this memory's scopes (not its own)."""

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _llm_obj: Any = PrivateAttr(default=None)
    _embedder_obj: Any = PrivateAttr(default=None)
    _table: Any = PrivateAttr(default=None)
    _pending: PendingSaves = PrivateAttr(default_factory=PendingSaves)

    def __repr__(self) -> str:
        return f"Memory(root_scope={self.root_scope!r}, shared={self.shared})"

    def __init__(self, **data: Any) -> None:
        storage = data.get("storage", "lancedb")
        if not isinstance(storage, str | os.PathLike):  # ours, not a pydantic ValidationError
            raise ConfigurationError(
                f"Memory(storage=...) takes 'lancedb' or a folder path, not "
                f"{type(storage).__name__}: custom storage backends are not supported by "
                "fastcrew yet (docs/memory.md)"
            )
        super().__init__(**data)

    # -- lazily built parts ------------------------------------------------------------------

    @property
    def weights(self) -> ScoreWeights:
        return ScoreWeights(
            semantic_weight=self.semantic_weight,
            recency_weight=self.recency_weight,
            importance_weight=self.importance_weight,
            recency_half_life_days=self.recency_half_life_days,
        )

    @property
    def llm_instance(self) -> Any:
        """The analysis LLM (a model string becomes a :class:`fastcrew.LLM` at first use)."""
        with self._lock:
            if self._llm_obj is None:
                value = self.llm
                if value is None or isinstance(value, str):
                    from ..llm import LLM

                    value = LLM(value)
                self._llm_obj = value
            return self._llm_obj

    @property
    def embedder_instance(self) -> Embedder:
        with self._lock:
            if self._embedder_obj is None:
                from ..embeddings import Embedder

                spec = self.embedder
                self._embedder_obj = spec if isinstance(spec, Embedder) else Embedder(spec)
            return self._embedder_obj

    @property
    def table(self) -> VectorTable:
        """The memory's table (opened at first use, made on disk by the first save)."""
        embedder = self.embedder_instance
        with self._lock:
            if self._table is None:
                from ..vectors import VectorStore

                if self.storage != "lancedb":
                    store = VectorStore(STORE_NAME, path=os.fspath(self.storage))
                else:
                    store = VectorStore(STORE_NAME)
                self._table = store.table(f"memory__{embedder.config.space_digest}")
            return self._table

    def _scoped(self, scope: str | None) -> str:
        """``scope`` under ``root_scope`` as an absolute path (the root without a scope)."""
        if scope is None:
            return normalize_scope_path(self.root_scope)
        return join_scope_paths(self.root_scope, scope)

    # -- saving ------------------------------------------------------------------------------

    async def aremember(
        self,
        content: str,
        scope: str | None = None,
        categories: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
        source: str | None = None,
        private: bool = False,
        agent_role: str | None = None,
        root_scope: str | None = None,
    ) -> MemoryRecord | None:
        """Save ``content`` and return its record (None when the memory is ``read_only``
        or the content was merged into a memory already stored). Without an importance,
        categories or scope the LLM analyses it first; ``scope`` nests under ``root_scope``
        (this call's, else the memory's). Waits for the save (:mod:`.encoding`)."""
        found = await self.aremember_many(
            [content], scope, categories, metadata, importance, source, private,
            agent_role, root_scope, wait=True,
        )  # fmt: skip
        return found[0] if found else None

    async def aremember_many(
        self,
        contents: Sequence[str],
        scope: str | None = None,
        categories: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
        source: str | None = None,
        private: bool = False,
        agent_role: str | None = None,
        root_scope: str | None = None,
        *,
        wait: bool = False,
    ) -> list[MemoryRecord]:
        """Save each of ``contents`` in the background and return ``[]`` at once, as
        CrewAI's ``remember_many``; a later recall (or :meth:`adrain_writes`) waits for it.
        ``wait=True`` (fastcrew's): save now and return the records written."""
        if self.read_only or not contents:
            return []
        root = root_scope if root_scope is not None else self.root_scope
        req = SaveRequest(
            scope, categories, metadata, importance, source, private, agent_role, root
        )
        if wait:
            return await self._pending.arun(aencode(self, list(contents), req))
        self._pending.submit(aencode(self, list(contents), req))
        return []

    async def adrain_writes(self) -> None:
        """Wait for the background saves started so far (a failed one is logged)."""
        await self._pending.adrain()

    async def aclose(self) -> None:
        """Wait for the background saves (the store needs no closing)."""
        await self.adrain_writes()

    async def aupdate(
        self,
        record_id: str,
        content: str | None = None,
        scope: str | None = None,
        categories: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        importance: float | None = None,
    ) -> MemoryRecord:
        """Change the memory ``record_id`` (a new content is embedded again; ``scope`` is
        absolute, as CrewAI's). Raises ``ValueError`` when there is none."""
        changes = {"content": content, "scope": scope, "categories": categories,
                   "metadata": metadata, "importance": importance}  # fmt: skip
        return await aupdate(self, record_id, {k: v for k, v in changes.items() if v is not None})

    async def aextract_memories(self, content: str) -> list[str]:
        """CrewAI's ``extract_memories``: the discrete memories the LLM finds in
        ``content`` (all of it as one when the LLM fails); saves nothing."""
        return await aextract_memories(content, self.llm_instance)

    # -- recall ------------------------------------------------------------------------------

    async def arecall(
        self,
        query: str,
        scope: str | None = None,
        categories: list[str] | None = None,
        limit: int = 10,
        depth: Literal["shallow", "deep"] = "deep",
        source: str | None = None,
        include_private: bool = False,
    ) -> list[MemoryMatch]:
        """The memories most relevant to ``query`` under ``scope`` (nested under
        ``root_scope``), best first by the composite score; ``categories`` keeps records
        with any of them; private records only for their ``source`` (or
        ``include_private``). ``depth="deep"`` lets the LLM distil a long query first
        (:mod:`.recall`). Waits for the background saves first, as CrewAI."""
        return await arecall_at(
            self, [self._scoped(scope)], query, categories, limit, source, include_private, depth
        )

    # -- looking around (:mod:`.browse`) ------------------------------------------------------

    async def alist_scopes(self, path: str | None = None) -> list[str]:
        """The immediate child scopes of ``path`` (under ``root_scope``)."""
        return await browse.alist_scopes(self, self._scoped(path))

    async def alist_records(
        self, scope: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[MemoryRecord]:
        """The records under ``scope`` (under ``root_scope``), newest first."""
        return await browse.alist_records(self, self._scoped(scope), limit, offset)

    async def ainfo(self, path: str | None = None) -> ScopeInfo:
        """How many records ``path`` holds (with everything under it), their categories,
        oldest and newest times and its child scopes."""
        return await browse.ainfo(self, self._scoped(path))

    async def atree(self, path: str | None = None, max_depth: int = 3) -> str:
        """The scopes under ``path`` as an indented tree with their record counts."""
        return await browse.atree(self, self._scoped(path), max_depth)

    async def alist_categories(self, path: str | None = None) -> dict[str, int]:
        """Each category in use under ``path`` and how many records carry it."""
        return await browse.alist_categories(self, self._scoped(path))

    # -- forgetting ----------------------------------------------------------------------------

    async def aforget(
        self,
        scope: str | None = None,
        categories: list[str] | None = None,
        older_than: datetime | None = None,
        metadata_filter: dict[str, Any] | None = None,
        record_ids: list[str] | None = None,
    ) -> int:
        """Delete the memories under ``scope`` (nested under ``root_scope``; everything
        without either) that match every filter given; returns how many."""
        return await aforget_at(
            self, self._scoped(scope), categories, older_than, metadata_filter, record_ids
        )

    async def areset(self, scope: str | None = None) -> None:
        """Delete every memory under ``scope`` (under ``root_scope``; all without both),
        after the saves started before; saves started meanwhile wait for it (CrewAI's)."""
        async with self._pending.exclusive():
            await aforget_at(self, self._scoped(scope), drain=False)

    async def areset_all(self) -> None:
        """:meth:`areset` of the whole store, whatever ``root_scope`` is."""
        async with self._pending.exclusive():
            await aforget_at(self, "/", drain=False)

    # -- views -------------------------------------------------------------------------------

    def scope(self, path: str) -> MemoryScope:
        """A view of this memory rooted at ``path`` (under ``root_scope``)."""
        from .memory_scope import MemoryScope

        return MemoryScope(self, path)

    def slice(
        self, scopes: list[str], categories: list[str] | None = None, read_only: bool = True
    ) -> MemorySlice:
        """A view over several scopes (under ``root_scope``) at once, read-only by
        default."""
        from .memory_scope import MemorySlice

        paths = [self._scoped(s) for s in scopes]
        return MemorySlice(self, paths, categories=categories, read_only=read_only)

    # -- sync twins (blocking; refused inside a running loop: await the a-methods there) -------

    def remember(self, content: str, *args: Any, **kwargs: Any) -> MemoryRecord | None:
        """:meth:`aremember`, blocking."""
        return _run(self.aremember(content, *args, **kwargs), "remember")

    def remember_many(
        self, contents: Sequence[str], *args: Any, **kwargs: Any
    ) -> list[MemoryRecord]:
        """:meth:`aremember_many`: returns ``[]`` at once, the save goes on in the
        background."""
        return _run(self.aremember_many(contents, *args, **kwargs), "remember_many")

    def drain_writes(self) -> None:
        """:meth:`adrain_writes`, blocking."""
        _run(self.adrain_writes(), "drain_writes")

    def close(self) -> None:
        """:meth:`aclose`, blocking."""
        _run(self.aclose(), "close")

    def update(self, record_id: str, **changes: Any) -> MemoryRecord:
        """:meth:`aupdate`, blocking."""
        return _run(self.aupdate(record_id, **changes), "update")

    def recall(self, query: str, *args: Any, **kwargs: Any) -> list[MemoryMatch]:
        """:meth:`arecall`, blocking."""
        return _run(self.arecall(query, *args, **kwargs), "recall")

    def list_scopes(self, path: str | None = None) -> list[str]:
        """:meth:`alist_scopes`, blocking."""
        return _run(self.alist_scopes(path), "list_scopes")

    def list_records(
        self, scope: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[MemoryRecord]:
        """:meth:`alist_records`, blocking."""
        return _run(self.alist_records(scope, limit, offset), "list_records")

    def info(self, path: str | None = None) -> ScopeInfo:
        """:meth:`ainfo`, blocking."""
        return _run(self.ainfo(path), "info")

    def tree(self, path: str | None = None, max_depth: int = 3) -> str:
        """:meth:`atree`, blocking."""
        return _run(self.atree(path, max_depth), "tree")

    def list_categories(self, path: str | None = None) -> dict[str, int]:
        """:meth:`alist_categories`, blocking."""
        return _run(self.alist_categories(path), "list_categories")

    def forget(self, *args: Any, **kwargs: Any) -> int:
        """:meth:`aforget`, blocking."""
        return _run(self.aforget(*args, **kwargs), "forget")

    def reset(self, scope: str | None = None) -> None:
        """:meth:`areset`, blocking."""
        _run(self.areset(scope), "reset")

    def reset_all(self) -> None:
        """:meth:`areset_all`, blocking."""
        _run(self.areset_all(), "reset_all")

    def extract_memories(self, content: str) -> list[str]:
        """:meth:`aextract_memories`, blocking."""
        return _run(self.aextract_memories(content), "extract_memories")


def _run(work: Any, api: str) -> Any:
    return get_runtime().run(work, api=f"Memory.{api}", async_api=f"Memory.a{api}")
