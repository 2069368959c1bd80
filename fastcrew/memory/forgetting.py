"""Forgetting: deleting the memories under a scope that match every filter given (a scope
or age alone is one SQL delete; categories and metadata are matched on the records read)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .browse import arecords_under
from .scopes import normalize_scope_path, scope_where

if TYPE_CHECKING:
    from .unified_memory import Memory

__all__ = ["aforget_at"]


async def aforget_at(
    memory: Memory,
    path: str | None,
    categories: list[str] | None = None,
    older_than: datetime | None = None,
    metadata_filter: dict[str, Any] | None = None,
    record_ids: list[str] | None = None,
    *,
    drain: bool = True,
) -> int:
    """Delete what matches under the absolute scope ``path`` (after the background saves:
    ``drain``); returns how many."""
    table = memory.table
    if categories or metadata_filter:
        records = await arecords_under(memory, normalize_scope_path(path), drain=drain, limit=None)
        wanted = set(record_ids) if record_ids is not None else None
        doomed = [
            r.id
            for r in records
            if (wanted is None or r.id in wanted)
            and (not categories or any(c in r.categories for c in categories))
            and (
                not metadata_filter
                or all(r.metadata.get(k) == v for k, v in metadata_filter.items())
            )
            and (older_than is None or r.created_at < older_than)
        ]
        return await table.adelete(doomed) if doomed else 0
    if drain:
        await memory.adrain_writes()
    where = scope_where(path)
    if older_than is not None:
        when = older_than if older_than.tzinfo else older_than.replace(tzinfo=UTC)
        clause = f"created_at < {when.timestamp()!r}"
        where = f"({where}) AND {clause}" if where else clause
    if record_ids is None and where is None:
        return await table.adelete(where="true")
    return await table.adelete(record_ids, where=where)
