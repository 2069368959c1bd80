"""Saving memories, as CrewAI's encoding flow: the contents are embedded in one request;
near-exact repeats within the batch are dropped (``batch_dedup_threshold``); each one left
is compared with the most similar memories already stored (``consolidation_limit``, under
the save's scope); then, all at once, the LLM analyses those saved without a scope,
categories or importance, and — where a stored memory is at least
``consolidation_threshold`` similar — plans which to keep, update or delete and whether
the new content is saved too. The plans are applied (updated texts embedded in one request)
and the new memories written. An exact copy of a memory already under the scope is not
saved again, and costs no LLM call (a resumed batch row pays nothing twice)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .analyze import ConsolidationPlan, MemoryAnalysis, aanalyze_for_save, aconsolidate
from .browse import aknown
from .records import from_row, to_row
from .scopes import join_scope_paths, normalize_scope_path, scope_where
from .types import MemoryRecord, similarity_from_cosine

if TYPE_CHECKING:
    from .unified_memory import Memory

__all__ = ["SaveRequest", "aencode", "aupdate"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SaveRequest:
    """What a ``remember`` call gives, applied to every content (``root``: the effective
    root scope)."""

    scope: str | None = None
    categories: list[str] | None = None
    metadata: dict[str, Any] | None = None
    importance: float | None = None
    source: str | None = None
    private: bool = False
    agent_role: str | None = None
    root: str | None = None

    @property
    def needs_analysis(self) -> bool:
        return self.scope is None or self.categories is None or self.importance is None

    @property
    def boundary(self) -> str | None:
        """Where similar memories are looked for: the root, narrowed by an explicit scope."""
        if self.scope is None:
            return self.root
        return join_scope_paths(self.root, self.scope) if self.root else self.scope


@dataclass(slots=True)
class _Item:
    text: str
    vector: Sequence[float]
    similar: list[tuple[MemoryRecord, float]] = field(default_factory=list)
    analysis: MemoryAnalysis | None = None
    plan: ConsolidationPlan | None = None


async def aencode(memory: Memory, contents: Sequence[str], req: SaveRequest) -> list[MemoryRecord]:
    """Save ``contents`` into ``memory``; returns the memories written (new and updated)."""
    from ..vectors import near_duplicates

    texts = [c for c in dict.fromkeys(contents) if c and c.strip()]
    if not texts:
        return []
    vectors = await memory.embedder_instance.aembed(texts)
    dropped = near_duplicates(vectors, memory.batch_dedup_threshold)
    items = [_Item(t, v) for t, v in zip(texts, vectors, strict=True)]
    items = [item for i, item in enumerate(items) if i not in dropped]
    found = await memory.table.asearch_many(
        [i.vector for i in items], memory.consolidation_limit, where=scope_where(req.boundary)
    )
    for item, hits in zip(items, found, strict=True):
        item.similar = [(from_row(r), similarity_from_cosine(c)) for r, c in hits]
    items = [i for i in items if not any(r.content == i.text for r, _ in i.similar)]
    if not items:
        return []
    await _analyse(memory, items, req)
    return await _apply(memory, items, req)


async def _analyse(memory: Memory, items: list[_Item], req: SaveRequest) -> None:
    """The LLM calls of every item, all at once (none when the LLM cannot be made: the
    saves then take the defaults, as when a call fails)."""
    threshold = memory.consolidation_threshold
    if not req.needs_analysis and all(s < threshold for i in items for _, s in i.similar):
        return
    try:
        llm = memory.llm_instance
    except Exception as exc:  # e.g. no API key: as a failed analysis, not a lost memory
        _log.warning("memory LLM unavailable, saving with defaults: %s", exc)
        return
    scopes: list[str] = []
    categories: list[str] = []
    if req.needs_analysis:
        scopes, categories = await aknown(memory, req.root)

    async def one(item: _Item) -> None:
        close = [r for r, s in item.similar if s >= threshold]
        calls: list[Any] = []
        if req.needs_analysis:
            calls.append(aanalyze_for_save(item.text, scopes, categories, llm))
        if close:
            calls.append(aconsolidate(item.text, [r for r, _ in item.similar], llm))
        answers = await asyncio.gather(*calls)
        if req.needs_analysis:
            item.analysis = answers.pop(0)
        if close:
            item.plan = answers.pop(0)

    await asyncio.gather(*(one(item) for item in items))


def _new_record(memory: Memory, item: _Item, req: SaveRequest) -> MemoryRecord:
    meta = dict(req.metadata or {})
    cats = list(req.categories) if req.categories is not None else []
    weight = req.importance if req.importance is not None else memory.default_importance
    inner = req.scope
    if item.analysis is not None:
        analysis = item.analysis
        inner = req.scope if req.scope is not None else analysis.suggested_scope
        if req.categories is None:
            cats = list(analysis.categories)
        if req.importance is None:
            weight = analysis.importance
        extracted = analysis.extracted_metadata.model_dump()
        meta = {**{k: v for k, v in extracted.items() if v}, **meta}
    if req.agent_role and "agent_role" not in meta:
        meta["agent_role"] = req.agent_role
    path = join_scope_paths(req.root, inner) if req.root else normalize_scope_path(inner)
    return MemoryRecord(
        id=hashlib.sha256(f"{path}\0{item.text}".encode()).hexdigest(),
        content=item.text,
        scope=path,
        categories=cats,
        metadata=meta,
        importance=max(0.0, min(1.0, float(weight))),
        source=req.source,
        private=req.private,
        embedding=list(item.vector),
    )


async def _apply(memory: Memory, items: list[_Item], req: SaveRequest) -> list[MemoryRecord]:
    """Apply the plans (the first action on a stored memory wins) and write the new ones."""
    deletes: set[str] = set()
    updates: dict[str, tuple[MemoryRecord, str]] = {}
    inserts: list[tuple[MemoryRecord, Sequence[float]]] = []
    for item in items:
        known = {r.id: r for r, _ in item.similar}
        for action in item.plan.actions if item.plan else []:
            rid = action.record_id
            if rid not in known or rid in deletes or rid in updates:
                continue  # an id the LLM made up, or a memory already acted on
            if action.action == "delete":
                deletes.add(rid)
            elif action.action == "update" and action.new_content and action.new_content.strip():
                updates[rid] = (known[rid], action.new_content.strip())
        if item.plan is None or item.plan.insert_new:
            inserts.append((_new_record(memory, item, req), item.vector))
    table = memory.table
    written: list[MemoryRecord] = []
    if deletes:
        await table.adelete(sorted(deletes))
    if updates:
        vectors = await memory.embedder_instance.aembed([text for _, text in updates.values()])
        changed = [
            old.model_copy(update={"content": text, "embedding": list(vector)})
            for (old, text), vector in zip(updates.values(), vectors, strict=True)
        ]
        await table.aupsert(to_row(r, r.embedding or []) for r in changed)
        written.extend(changed)
    if inserts:
        await table.aadd(to_row(r, v) for r, v in inserts)
        written.extend(r for r, _ in inserts)
    return written


async def aupdate(memory: Memory, record_id: str, changes: dict[str, Any]) -> MemoryRecord:
    """Apply ``changes`` (content, scope, categories, metadata, importance) to the memory
    ``record_id``: same id, a new content embedded again."""
    from ..vectors.filters import ids_in

    await memory.adrain_writes()
    table = memory.table
    rows = await table.ascan(where=ids_in([record_id]), limit=1, with_vectors=True)
    if not rows:
        raise ValueError(f"Record not found: {record_id}")
    if "content" in changes:
        [vector] = await memory.embedder_instance.aembed([changes["content"]])
        changes["embedding"] = list(vector)
    if "scope" in changes:
        changes["scope"] = normalize_scope_path(changes["scope"])
    if "importance" in changes:
        changes["importance"] = max(0.0, min(1.0, float(changes["importance"])))
    updated = from_row(rows[0]).model_copy(update=changes)
    await table.aupsert([to_row(updated, updated.embedding or [])])
    return updated
