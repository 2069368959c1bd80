"""A memory as a row of the vector store and back: the record's categories, metadata,
source and privacy travel in the row's JSON metadata, its time as Unix seconds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .types import MemoryRecord

if TYPE_CHECKING:
    from ..vectors import VectorRecord

__all__ = ["SCAN_LIMIT", "STORE_NAME", "from_row", "to_row", "utc_naive"]

STORE_NAME = "memory"
"""The vector store's folder under ``$FASTCREW_STORAGE_DIR``."""

SCAN_LIMIT = 10_000
"""Records read at most by one listing (scopes, categories, records, info, a save's
analysis)."""


def utc_naive(ts: float) -> datetime:
    """Unix seconds as a naive UTC datetime (CrewAI's times)."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def to_row(record: MemoryRecord, vector: Sequence[float]) -> VectorRecord:
    """``record`` with its embedding as a vector-store row."""
    from ..vectors import VectorRecord

    return VectorRecord(
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


def from_row(row: VectorRecord) -> MemoryRecord:
    """A vector-store row as a record (with its embedding when the row carries it)."""
    extra = dict(row.metadata)
    created = utc_naive(row.created_at)
    return MemoryRecord(
        id=row.id,
        content=row.text,
        scope=row.scope,
        categories=list(extra.get("categories") or []),
        metadata=dict(extra.get("metadata") or {}),
        importance=round(row.importance, 6),  # stored as float32
        created_at=created,
        last_accessed=created,
        embedding=list(row.vector) if len(row.vector) else None,
        source=extra.get("source"),
        private=bool(extra.get("private", False)),
    )
