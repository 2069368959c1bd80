"""``Memory``: CrewAI's unified memory over fastcrew's vector store.

Records live in the vector store ``$FASTCREW_STORAGE_DIR/memory``, a table per embedder
(``memory__<digest of endpoint, model, dimensions>``), each with its scope path, categories,
metadata, importance and creation time. A save without its importance or categories is
analysed by the memory's LLM first (:mod:`.analyze`); a recall embeds the query, searches
the scope and everything under it, and ranks the hits by CrewAI's composite score
(:mod:`.types`). Nothing is opened or resolved before the first call.

A record's id is a digest of its scope and content, so saving the same text in the same
scope twice keeps one record (a resumed batch row adds nothing again).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from ..process_runtime import get_runtime
from .analyze import aanalyze_for_save, aanalyze_query, aextract_memories
from .scopes import join_scope_paths, normalize_scope_path, scope_where
from .types import MemoryMatch, MemoryRecord, ScoreWeights, composite_score, similarity_from_cosine

if TYPE_CHECKING:
    from ..embeddings import Embedder
    from ..vectors import VectorRecord, VectorTable
    from .memory_scope import MemoryScope, MemorySlice

__all__ = ["STORE_NAME", "Memory"]

STORE_NAME = "memory"
"""The vector store's folder under ``$FASTCREW_STORAGE_DIR``."""

_SCAN = 10_000
"""Records read at most to list scopes and categories (for the save analysis)."""


def _cutoff(text: str | None) -> datetime | None:
    """A query analysis's ``time_filter`` as naive UTC (None if absent or unreadable)."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


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
    llm: Any = "gpt-5.4-mini"
    storage: Any = "lancedb"
    embedder: Any = None
    recency_weight: float = 0.3
    semantic_weight: float = 0.5
    importance_weight: float = 0.2
    recency_half_life_days: int = 30
    consolidation_threshold: float = 0.85
    consolidation_limit: int = 5
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

    def __repr__(self) -> str:
        return f"Memory(root_scope={self.root_scope!r}, shared={self.shared})"

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

                if isinstance(self.storage, str) and self.storage != "lancedb":
                    store = VectorStore(STORE_NAME, path=self.storage)
                else:
                    store = VectorStore(STORE_NAME)
                cfg = embedder.config
                key = f"{cfg.endpoint}\0{cfg.model}\0{cfg.dimensions or 0}"
                digest = hashlib.sha256(key.encode()).hexdigest()[:12]
                self._table = store.table(f"memory__{digest}")
            return self._table

    def _scoped(self, scope: str | None, root: str | None = None) -> str | None:
        base = root if root is not None else self.root_scope
        if scope is None:
            return base
        return join_scope_paths(base, scope) if base else normalize_scope_path(scope)

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
        """Save ``content`` (None when the memory is ``read_only``). Without an importance,
        categories or scope it is analysed by the LLM first; ``scope`` nests under
        ``root_scope`` (this call's, else the memory's)."""
        found = await self.aremember_many(
            [content], scope, categories, metadata, importance, source, private,
            agent_role, root_scope,
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
    ) -> list[MemoryRecord]:
        """Save each of ``contents`` (analysed one by one when fields are missing, embedded
        in one request)."""
        texts = [c for c in dict.fromkeys(contents) if c and c.strip()]
        if self.read_only or not texts:
            return []
        root = root_scope if root_scope is not None else self.root_scope
        records: list[MemoryRecord] = []
        needs_analysis = scope is None or categories is None or importance is None
        known_scopes: list[str] = []
        known_categories: list[str] = []
        if needs_analysis:
            known_scopes, known_categories = await self._known(root)
        for text in texts:
            meta = dict(metadata or {})
            cats = list(categories) if categories is not None else []
            weight = importance if importance is not None else self.default_importance
            inner = scope
            if needs_analysis:
                analysis = await aanalyze_for_save(
                    text, known_scopes, known_categories, self.llm_instance
                )
                inner = scope if scope is not None else analysis.suggested_scope
                if categories is None:
                    cats = list(analysis.categories)
                if importance is None:
                    weight = analysis.importance
                extracted = analysis.extracted_metadata.model_dump()
                meta = {**{k: v for k, v in extracted.items() if v}, **meta}
            if agent_role and "agent_role" not in meta:
                meta["agent_role"] = agent_role
            path = join_scope_paths(root, inner) if root else normalize_scope_path(inner)
            digest = hashlib.sha256(f"{path}\0{text}".encode()).hexdigest()
            records.append(
                MemoryRecord(
                    id=digest,
                    content=text,
                    scope=path,
                    categories=cats,
                    metadata=meta,
                    importance=max(0.0, min(1.0, float(weight))),
                    source=source,
                    private=private,
                )
            )
        await self._store(records)
        return records

    async def _store(self, records: list[MemoryRecord]) -> None:
        from ..vectors import VectorRecord

        vectors = await self.embedder_instance.aembed([r.content for r in records])
        rows: list[VectorRecord] = []
        for record, vector in zip(records, vectors, strict=True):
            record.embedding = list(vector)
            rows.append(
                VectorRecord(
                    id=record.id,
                    text=record.content,
                    vector=vector,
                    metadata={
                        "categories": record.categories,
                        "metadata": record.metadata,
                        "source": record.source,
                        "private": record.private,
                    },
                    scope=record.scope,
                    created_at=record.created_at.replace(tzinfo=UTC).timestamp(),
                    importance=record.importance,
                )
            )
        await self.table.aadd(rows)  # the table's write lock: safe across processes

    async def _known(self, root: str | None) -> tuple[list[str], list[str]]:
        """The scopes and categories in use (under ``root``), for the save analysis."""
        table = self.table
        if await table.acount() == 0:
            return [], []
        hits = await self._scan(root)
        scopes = sorted({r.scope for r in hits})
        categories = sorted({c for r in hits for c in r.metadata.get("categories") or []})
        return scopes, categories

    async def _scan(self, scope: str | None) -> list[VectorRecord]:
        """Up to :data:`_SCAN` records under ``scope`` (any order)."""
        return await self._scan_where(scope_where(scope))

    async def _scan_where(self, where: str | None) -> list[VectorRecord]:
        """Up to :data:`_SCAN` records matching the SQL ``where`` (any order)."""
        table = self.table
        dim = table.dim
        if dim is None:
            await table.acount()  # opens the table
            dim = table.dim
        if dim is None:
            return []
        hits = await table.asearch([1.0] + [0.0] * (dim - 1), _SCAN, where=where)
        return [record for record, _ in hits]

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
        with any of them. ``depth="deep"`` (the default) has the LLM distil a query of
        ``query_analysis_threshold`` characters or more into up to 3 search phrases (and a
        date before which memories are left out), as CrewAI's recall flow does first;
        shorter queries, and ``"shallow"``, are searched as they are."""
        return await self._arecall_at(
            [self._scoped(scope)], query, categories, limit, source, include_private, depth
        )

    async def _arecall_at(
        self,
        paths: Sequence[str | None],
        query: str,
        categories: list[str] | None,
        limit: int,
        source: str | None = None,
        include_private: bool = False,
        depth: str = "shallow",
    ) -> list[MemoryMatch]:
        """:meth:`arecall` under the absolute scope ``paths`` (any of them)."""
        if limit <= 0 or not query.strip():
            return []
        table = self.table
        if await table.acount() == 0:
            return []
        clauses = [scope_where(p) for p in paths]
        where = None if None in clauses else " OR ".join(f"({c})" for c in clauses)
        queries, cutoff = [query], None
        if depth == "deep" and len(query) >= self.query_analysis_threshold:
            scopes = sorted({r.scope for r in await self._scan_where(where)})
            analysis = await aanalyze_query(query, scopes, self.llm_instance)
            queries = [q for q in analysis.recall_queries if q and q.strip()][:3] or [query]
            cutoff = _cutoff(analysis.time_filter)
        vectors = await self.embedder_instance.aembed(queries)
        wanted = limit * 2 * (3 if categories else 1)  # CrewAI's oversampling
        weights = self.weights
        now = datetime.now(UTC).replace(tzinfo=None)
        best: dict[str, MemoryMatch] = {}
        for vector in vectors:
            for row, cosine in await table.asearch(vector, wanted, where=where):
                record = self._record(row)
                if categories and not any(c in record.categories for c in categories):
                    continue
                if record.private and not include_private and record.source != source:
                    continue
                if cutoff is not None and record.created_at < cutoff:
                    continue
                similarity = similarity_from_cosine(cosine)
                score, reasons = composite_score(record, similarity, weights, now)
                seen = best.get(record.id)
                if seen is None or score > seen.score:
                    best[record.id] = MemoryMatch(record=record, score=score, match_reasons=reasons)
        found = sorted(best.values(), key=lambda m: m.score, reverse=True)
        return found[:limit]

    @staticmethod
    def _record(row: VectorRecord) -> MemoryRecord:
        extra = dict(row.metadata)
        created = _utc(row.created_at)
        return MemoryRecord(
            id=row.id,
            content=row.text,
            scope=row.scope,
            categories=list(extra.get("categories") or []),
            metadata=dict(extra.get("metadata") or {}),
            importance=round(row.importance, 6),  # stored as float32
            created_at=created,
            last_accessed=created,
            source=extra.get("source"),
            private=bool(extra.get("private", False)),
        )

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
        return await self._aforget_at(
            self._scoped(scope), categories, older_than, metadata_filter, record_ids
        )

    async def _aforget_at(
        self,
        path: str | None,
        categories: list[str] | None = None,
        older_than: datetime | None = None,
        metadata_filter: dict[str, Any] | None = None,
        record_ids: list[str] | None = None,
    ) -> int:
        """:meth:`aforget` under the absolute scope ``path``."""
        where = scope_where(path)
        table = self.table
        if categories or metadata_filter:
            rows = await self._scan(path)
            if record_ids is not None:
                rows = [r for r in rows if r.id in set(record_ids)]
            keep: list[str] = []
            for row in rows:
                record = self._record(row)
                if categories and not any(c in record.categories for c in categories):
                    continue
                if metadata_filter and any(
                    record.metadata.get(k) != v for k, v in metadata_filter.items()
                ):
                    continue
                if older_than is not None and record.created_at >= older_than:
                    continue
                keep.append(record.id)
            return await table.adelete(keep) if keep else 0
        if older_than is not None:
            when = older_than if older_than.tzinfo else older_than.replace(tzinfo=UTC)
            ts = when.timestamp()
            clause = f"created_at < {ts!r}"
            where = f"({where}) AND {clause}" if where else clause
        if record_ids is None and where is None:
            return await table.adelete(where="true")
        return await table.adelete(record_ids, where=where)

    async def areset(self, scope: str | None = None) -> None:
        """Delete every memory under ``scope`` (all of them without one)."""
        await self.aforget(scope=scope)

    # -- views -------------------------------------------------------------------------------

    def scope(self, path: str) -> MemoryScope:
        """A view of this memory rooted at ``path`` (under ``root_scope``)."""
        from .memory_scope import MemoryScope

        return MemoryScope(self, self._scoped(path) or "/")

    def slice(
        self, scopes: list[str], categories: list[str] | None = None, read_only: bool = True
    ) -> MemorySlice:
        """A view over several scopes at once (read-only by default)."""
        from .memory_scope import MemorySlice

        return MemorySlice(self, scopes, categories=categories, read_only=read_only)

    # -- sync twins ----------------------------------------------------------------------------

    def remember(self, content: str, *args: Any, **kwargs: Any) -> MemoryRecord | None:
        """:meth:`aremember`, blocking (refused inside a running loop)."""
        return _run(self.aremember(content, *args, **kwargs), "remember")

    def remember_many(
        self, contents: Sequence[str], *args: Any, **kwargs: Any
    ) -> list[MemoryRecord]:
        """:meth:`aremember_many`, blocking."""
        return _run(self.aremember_many(contents, *args, **kwargs), "remember_many")

    def recall(self, query: str, *args: Any, **kwargs: Any) -> list[MemoryMatch]:
        """:meth:`arecall`, blocking."""
        return _run(self.arecall(query, *args, **kwargs), "recall")

    def forget(self, *args: Any, **kwargs: Any) -> int:
        """:meth:`aforget`, blocking."""
        return _run(self.aforget(*args, **kwargs), "forget")

    def reset(self, scope: str | None = None) -> None:
        """:meth:`areset`, blocking."""
        _run(self.areset(scope), "reset")

    def extract_memories(self, content: str) -> list[str]:
        """:meth:`aextract_memories`, blocking."""
        return _run(self.aextract_memories(content), "extract_memories")


def _run(work: Any, api: str) -> Any:
    return get_runtime().run(work, api=f"Memory.{api}", async_api=f"Memory.a{api}")
