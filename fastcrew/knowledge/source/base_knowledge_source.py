"""``BaseKnowledgeSource``: CrewAI's base class for knowledge sources.

A source loads its documents when built; :meth:`~BaseKnowledgeSource.knowledge_chunks` cuts
them into chunks with a content hash each, for a storage layer to embed only what it lacks.
:meth:`~BaseKnowledgeSource.add` is CrewAI's path: keep the chunks in ``chunks`` and hand them
all to ``storage``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol, Self, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..chunking import KnowledgeChunk, check_window, chunk_text, content_hash

__all__ = ["BaseKnowledgeSource", "ChunkStorage"]


@runtime_checkable
class ChunkStorage(Protocol):
    """Where :meth:`BaseKnowledgeSource.add` saves chunks (CrewAI's ``BaseKnowledgeStorage``)."""

    def save(self, documents: list[str]) -> None: ...

    async def asave(self, documents: list[str]) -> None: ...


class BaseKnowledgeSource(BaseModel, ABC):
    """A body of text an agent can consult, cut into overlapping character windows."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    chunk_size: int = 4000
    chunk_overlap: int = 200
    chunks: list[str] = Field(default_factory=list)
    chunk_embeddings: list[Any] = Field(default_factory=list, exclude=True)
    storage: ChunkStorage | None = Field(default=None)
    metadata: dict[str, Any] = Field(default_factory=dict)
    collection_name: str | None = Field(default=None)

    @model_validator(mode="after")
    def _check_window(self) -> Self:
        check_window(self.chunk_size, self.chunk_overlap)
        return self

    @abstractmethod
    def validate_content(self) -> Any:
        """Check the content the source was given."""

    def document_texts(self) -> list[str]:
        """The loaded text of each document (string, file), in order, before chunking."""
        raise NotImplementedError(
            f"{type(self).__name__} does not expose its texts: override document_texts(), "
            "or save through add()"
        )

    def knowledge_chunks(self) -> list[KnowledgeChunk]:
        """Every document's chunks in order, each with its text's SHA-256."""
        return [
            KnowledgeChunk(chunk, content_hash(chunk))
            for text in self.document_texts()
            for chunk in self._chunk_text(text)
        ]

    def add(self) -> None:
        """Append this source's chunks to ``chunks`` and save them all to ``storage``."""
        self.chunks.extend(chunk.text for chunk in self.knowledge_chunks())
        self._save_documents()

    async def aadd(self) -> None:
        """:meth:`add`, saving with the storage's ``asave``."""
        self.chunks.extend(chunk.text for chunk in self.knowledge_chunks())
        await self._asave_documents()

    def get_embeddings(self) -> list[Any]:
        """The chunks' embeddings, where a storage recorded them."""
        return self.chunk_embeddings

    def _chunk_text(self, text: str) -> list[str]:
        """``text`` cut into this source's windows."""
        return chunk_text(text, self.chunk_size, self.chunk_overlap)

    def _save_documents(self) -> None:
        """Save ``chunks`` to ``storage``; ``ValueError`` without one."""
        self._require_storage().save(self.chunks)

    async def _asave_documents(self) -> None:
        """Save ``chunks`` to ``storage`` asynchronously; ``ValueError`` without one."""
        await self._require_storage().asave(self.chunks)

    def _require_storage(self) -> ChunkStorage:
        if self.storage is None:
            raise ValueError("No storage found to save documents.")
        return self.storage
