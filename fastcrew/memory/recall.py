"""Recalling memories, as CrewAI's recall flow: a long query (``query_analysis_threshold``
characters or more, ``depth="deep"``) is first distilled by the LLM into up to 3 search
phrases and a date before which memories are left out; each phrase is embedded and
searched under the scopes given, and the hits are ranked by CrewAI's composite score."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .analyze import aanalyze_query
from .records import from_row
from .scopes import scope_where
from .types import MemoryMatch, composite_score, similarity_from_cosine

if TYPE_CHECKING:
    from .unified_memory import Memory

__all__ = ["arecall_at", "where_any"]


def _cutoff(text: str | None) -> datetime | None:
    """A query analysis's ``time_filter`` as naive UTC (None if absent or unreadable)."""
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def where_any(paths: Sequence[str | None]) -> str | None:
    """The SQL filter of records under any of ``paths`` (None: no filter)."""
    clauses = [scope_where(p) for p in paths]
    return None if None in clauses else " OR ".join(f"({c})" for c in clauses)


async def arecall_at(
    memory: Memory,
    paths: Sequence[str | None],
    query: str,
    categories: list[str] | None,
    limit: int,
    source: str | None = None,
    include_private: bool = False,
    depth: str = "shallow",
) -> list[MemoryMatch]:
    """The ``limit`` best memories for ``query`` under any of the absolute ``paths``, after
    the memory's background saves."""
    if limit <= 0 or not query.strip():
        return []
    await memory.adrain_writes()
    table = memory.table
    if await table.acount() == 0:
        return []
    where = where_any(paths)
    queries, cutoff = [query], None
    if depth == "deep" and len(query) >= memory.query_analysis_threshold:
        scopes = [path or "/" for path in paths]  # the analysis's scope choice is not used
        analysis = await aanalyze_query(query, scopes, memory.llm_instance)
        queries = [q for q in analysis.recall_queries if q and q.strip()][:3] or [query]
        cutoff = _cutoff(analysis.time_filter)
    vectors = await memory.embedder_instance.aembed(queries)
    wanted = limit * 2 * (3 if categories else 1)  # CrewAI's oversampling
    weights = memory.weights
    now = datetime.now(UTC).replace(tzinfo=None)
    best: dict[str, MemoryMatch] = {}
    for hits in await table.asearch_many(vectors, wanted, where=where):
        for row, cosine in hits:
            record = from_row(row)
            if categories and not any(c in record.categories for c in categories):
                continue
            if record.private and not include_private and record.source != source:
                continue
            if cutoff is not None and record.created_at < cutoff:
                continue
            score, reasons = composite_score(record, similarity_from_cosine(cosine), weights, now)
            seen = best.get(record.id)
            if seen is None or score > seen.score:
                best[record.id] = MemoryMatch(record=record, score=score, match_reasons=reasons)
    return sorted(best.values(), key=lambda m: m.score, reverse=True)[:limit]
