"""``BaseKnowledgeStorage``: the interface of a knowledge collection (CrewAI's).

Subclass it to back :class:`~fastcrew.knowledge.knowledge.Knowledge` with a store of your
own (``Knowledge(storage=...)``, ``Agent(knowledge_storage=...)`` or
:func:`~fastcrew.knowledge.storage.factory.set_knowledge_storage_factory`). It is a pydantic
model, as CrewAI's, so a subclass may declare fields. The synchronous methods serve the
synchronous calls (``Knowledge.query``, ``add_sources``, ``reset``), the ``a``-prefixed ones
the asynchronous calls and crews' runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["BaseKnowledgeStorage", "SearchResult"]

SearchResult = dict[str, Any]
"""CrewAI's search result: ``{"id", "content", "metadata", "score"}``."""


class BaseKnowledgeStorage(BaseModel, ABC):
    """Search, save and reset a knowledge collection, each in a blocking and an async form."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    @abstractmethod
    def search(
        self,
        query: list[str],
        limit: int = 5,
        metadata_filter: dict[str, Any] | None = None,
        score_threshold: float = 0.6,
    ) -> list[SearchResult]:
        """The ``limit`` documents nearest ``query``, scoring at least ``score_threshold``."""

    @abstractmethod
    async def asearch(
        self,
        query: list[str],
        limit: int = 5,
        metadata_filter: dict[str, Any] | None = None,
        score_threshold: float = 0.6,
    ) -> list[SearchResult]:
        """:meth:`search`, awaitable."""

    @abstractmethod
    def save(self, documents: list[str]) -> None:
        """Add ``documents`` (chunk texts) to the collection."""

    @abstractmethod
    async def asave(self, documents: list[str]) -> None:
        """:meth:`save`, awaitable."""

    @abstractmethod
    def reset(self) -> None:
        """Delete the collection."""

    @abstractmethod
    async def areset(self) -> None:
        """:meth:`reset`, awaitable."""
