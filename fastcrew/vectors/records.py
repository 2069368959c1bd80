"""``VectorRecord``: one row of a vector table — a chunk of knowledge or a memory."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Hit", "VectorRecord"]


@dataclass(frozen=True, slots=True)
class VectorRecord:
    """``id``: the caller's key, a content hash (a record whose id is present is not added
    again). ``vector``: any sequence of floats (a list, ``array('f')``, a numpy array),
    stored as float32. ``metadata``: JSON-serialisable, stored as a JSON string. ``scope``: a
    collection or a memory path (``/crew/agent``), filtered exactly or by prefix.
    ``created_at`` (Unix seconds) and ``importance`` (0-1) feed memory's recency and
    importance scores, as CrewAI's unified memory has them.

    Records read back by a search carry an empty ``vector`` unless it was asked for."""

    id: str
    text: str
    vector: Sequence[float]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    scope: str = "/"
    created_at: float = field(default_factory=time.time)
    importance: float = 0.5


Hit = tuple[VectorRecord, float]
"""A search result: the record and its cosine similarity to the query (1 = same direction)."""
