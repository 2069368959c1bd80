"""``KnowledgeConfig``: how much an agent's knowledge retrieval brings back (CrewAI's)."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["KnowledgeConfig"]


class KnowledgeConfig(BaseModel):
    """``results_limit``: chunks per query; ``score_threshold``: the lowest score kept (a
    score is ``(1 + cosine) / 2``, in [0, 1], as CrewAI computes it)."""

    results_limit: int = Field(default=5, description="Chunks returned per search, at most.")
    score_threshold: float = Field(
        default=0.6, description="Chunks scoring below this (0 to 1) are left out."
    )
