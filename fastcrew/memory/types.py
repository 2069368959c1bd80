"""Memory's records and matches (CrewAI's ``MemoryRecord`` / ``MemoryMatch`` fields) and the
recall score: ``semantic_weight * similarity + recency_weight * 0.5 ** (age_days /
recency_half_life_days) + importance_weight * importance`` (CrewAI's weights: 0.5, 0.3,
0.2; half-life 30 days)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "MemoryMatch",
    "MemoryRecord",
    "ScopeInfo",
    "ScoreWeights",
    "composite_score",
    "compute_composite_score",
    "similarity_from_cosine",
]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class MemoryRecord(BaseModel):
    """One memory: its text, scope path, categories, metadata, importance (0-1) and times
    (naive UTC, as CrewAI's)."""

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    content: str
    scope: str = "/"
    categories: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    importance: float = Field(default=0.5, ge=0.0, le=1.0)
    created_at: datetime = Field(default_factory=_now)
    last_accessed: datetime = Field(default_factory=_now)
    embedding: list[float] | None = Field(default=None, exclude=True, repr=False)
    source: str | None = None
    private: bool = False


class MemoryMatch(BaseModel):
    """A recalled record, its composite score and why it matched (``semantic`` always,
    ``recency`` when the decay is above one half, ``importance`` above 0.5)."""

    record: MemoryRecord
    score: float
    match_reasons: list[str] = Field(default_factory=list)
    evidence_gaps: list[str] = Field(default_factory=list)

    def format(self) -> str:
        """As CrewAI shows a match in a prompt: ``- (score=0.83) <content>``, then its
        categories and non-empty metadata, one per line."""
        lines = [f"- (score={self.score:.2f}) {self.record.content}"]
        if self.record.categories:
            lines.append(f"  categories: {', '.join(self.record.categories)}")
        for key, value in self.record.metadata.items():
            if value is not None:
                lines.append(f"  {key}: {value}")
        return "\n".join(lines)


class ScopeInfo(BaseModel):
    """A scope and everything under it: how many records, their categories, the oldest and
    newest record's time (naive UTC) and the immediate child scopes."""

    path: str
    record_count: int = 0
    categories: list[str] = Field(default_factory=list)
    oldest_record: datetime | None = None
    newest_record: datetime | None = None
    child_scopes: list[str] = Field(default_factory=list)


class ScoreWeights(BaseModel):
    """The recall score's weights and recency half-life (CrewAI's defaults)."""

    semantic_weight: float = 0.5
    recency_weight: float = 0.3
    importance_weight: float = 0.2
    recency_half_life_days: float = 30


def similarity_from_cosine(cosine: float) -> float:
    """The semantic score CrewAI's LanceDB storage gives a hit, ``1 / (1 + distance)`` with
    LanceDB's default (squared L2) distance, written for unit vectors: ``1 / (3 - 2 cos)``
    (1 for the same direction, 1/3 for orthogonal)."""
    return 1.0 / (1.0 + max(0.0, 2.0 - 2.0 * cosine))


def composite_score(
    record: MemoryRecord, semantic: float, weights: Any, now: datetime | None = None
) -> tuple[float, list[str]]:
    """The composite score of ``record`` for a hit of semantic score ``semantic``, and the
    match reasons. ``weights``: a :class:`ScoreWeights`, a :class:`Memory`, or anything with
    the same four attributes."""
    age_days = max(((now or _now()) - record.created_at).total_seconds() / 86400.0, 0.0)
    decay = 0.5 ** (age_days / weights.recency_half_life_days)
    score = (
        weights.semantic_weight * semantic
        + weights.recency_weight * decay
        + weights.importance_weight * record.importance
    )
    reasons = ["semantic"]
    if decay > 0.5:
        reasons.append("recency")
    if record.importance > 0.5:
        reasons.append("importance")
    return score, reasons


compute_composite_score = composite_score
"""CrewAI's name."""
