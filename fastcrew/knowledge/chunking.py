"""CrewAI's chunking: fixed character windows with overlap, and each chunk's content hash."""

from __future__ import annotations

import hashlib
from typing import NamedTuple

__all__ = ["KnowledgeChunk", "check_window", "chunk_text", "content_hash"]


class KnowledgeChunk(NamedTuple):
    """One chunk of a source and the hash that identifies its text."""

    text: str
    content_hash: str


def content_hash(text: str) -> str:
    """SHA-256 hex digest of ``text`` (UTF-8): the id CrewAI's Chroma storage gives a chunk."""
    return hashlib.sha256(text.encode()).hexdigest()


def check_window(chunk_size: int, chunk_overlap: int) -> None:
    """Raise ``ValueError`` unless ``0 <= chunk_overlap < chunk_size``."""
    if chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    if not 0 <= chunk_overlap < chunk_size:
        raise ValueError(
            f"chunk_overlap must be at least 0 and smaller than chunk_size ({chunk_size}), "
            f"got {chunk_overlap}"
        )


def chunk_text(text: str, chunk_size: int, chunk_overlap: int) -> list[str]:
    """Windows of ``chunk_size`` characters starting every ``chunk_size - chunk_overlap``.

    As CrewAI: a window starts at each step below ``len(text)``, so there are
    ``ceil(len(text) / step)`` of them and the last ones may be shorter; ``""`` gives none.
    """
    check_window(chunk_size, chunk_overlap)
    step = chunk_size - chunk_overlap
    return [text[start : start + chunk_size] for start in range(0, len(text), step)]
