"""A knowledge storage of one's own, as a CrewAI user writes one (a ``BaseKnowledgeStorage``
subclass): it keeps the saved documents in a list, finds those sharing a word with the
query, and records every call with its arguments."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from fastcrew.knowledge.storage.base_knowledge_storage import BaseKnowledgeStorage, SearchResult

Call = tuple[Any, ...]


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


class RecordingStorage(BaseKnowledgeStorage):
    """Documents in a list; ``calls`` holds ``(method, *arguments)`` in call order."""

    documents: list[str] = Field(default_factory=list)
    calls: list[Call] = Field(default_factory=list)

    def names(self) -> list[str]:
        """The methods called, in order."""
        return [call[0] for call in self.calls]

    def _found(self, query: list[str], limit: int) -> list[SearchResult]:
        wanted = _words(" ".join(query))
        hits = [doc for doc in self.documents if wanted & _words(doc)]
        return [{"content": doc, "score": 0.9, "metadata": {}} for doc in hits[:limit]]

    def search(
        self,
        query: list[str],
        limit: int = 5,
        metadata_filter: dict[str, Any] | None = None,
        score_threshold: float = 0.6,
    ) -> list[SearchResult]:
        self.calls.append(("search", query, limit, metadata_filter, score_threshold))
        return self._found(query, limit)

    async def asearch(
        self,
        query: list[str],
        limit: int = 5,
        metadata_filter: dict[str, Any] | None = None,
        score_threshold: float = 0.6,
    ) -> list[SearchResult]:
        self.calls.append(("asearch", query, limit, metadata_filter, score_threshold))
        return self._found(query, limit)

    def save(self, documents: list[str]) -> None:
        self.calls.append(("save", list(documents)))
        self.documents.extend(documents)

    async def asave(self, documents: list[str]) -> None:
        self.calls.append(("asave", list(documents)))
        self.documents.extend(documents)

    def reset(self) -> None:
        self.calls.append(("reset",))
        self.documents.clear()

    async def areset(self) -> None:
        self.calls.append(("areset",))
        self.documents.clear()
