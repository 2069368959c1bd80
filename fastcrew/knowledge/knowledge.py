"""``Knowledge``: sources and the storage they are indexed in, queried by meaning (CrewAI's).

Building one does no I/O. Its sources are indexed by :meth:`Knowledge.aadd_sources` (CrewAI's
explicit call) or, once, by :meth:`Knowledge.aensure_indexed` — which a crew awaits at its
first kickoff and :meth:`Knowledge.aquery` awaits first — so indexing happens once per
``Knowledge`` object however many runs start together.

The built-in :class:`~fastcrew.knowledge.storage.knowledge_storage.KnowledgeStorage` is
given each source's chunks with their hashes, and embeds only those it lacks. Any other
storage (a :class:`~fastcrew.knowledge.storage.base_knowledge_storage.BaseKnowledgeStorage`)
is used as CrewAI uses it: each source's ``add`` / ``aadd`` hands it its chunks through
``save`` / ``asave``; the blocking calls (``query``, ``add_sources``, ``reset``) use its
blocking methods, the awaitable ones its ``a``-methods.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from ..errors import unwrap_validation_error
from ..process_runtime import get_runtime
from .source.base_knowledge_source import BaseKnowledgeSource
from .storage.base_knowledge_storage import SearchResult
from .storage.factory import resolve_knowledge_storage
from .storage.knowledge_storage import KnowledgeStorage
from .utils.knowledge_utils import extract_knowledge_context

__all__ = ["Knowledge", "extract_knowledge_context", "resolve_knowledge_sources"]

_SOURCE_TYPES = {
    "string": "string_knowledge_source:StringKnowledgeSource",
    "text_file": "text_file_knowledge_source:TextFileKnowledgeSource",
    "pdf": "pdf_knowledge_source:PDFKnowledgeSource",
    "csv": "csv_knowledge_source:CSVKnowledgeSource",
    "json": "json_knowledge_source:JSONKnowledgeSource",
    "excel": "excel_knowledge_source:ExcelKnowledgeSource",
    "docling": "crew_docling_source:CrewDoclingSource",  # refused, saying why
}


def _source_class(tag: str) -> type[BaseKnowledgeSource]:
    import importlib

    module, name = _SOURCE_TYPES[tag].split(":")
    found: type[BaseKnowledgeSource] = getattr(
        importlib.import_module(f"{__package__}.source.{module}"), name
    )
    return found


def resolve_knowledge_sources(value: Any) -> Any:
    """As CrewAI: a dict with a known ``source_type`` in a list becomes that source; an
    unknown ``source_type`` is a ``ValueError``; anything else passes as it is."""
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for i, item in enumerate(value):
        tag = item.get("source_type") if isinstance(item, Mapping) else None
        if not isinstance(tag, str):
            out.append(item)
            continue
        if tag not in _SOURCE_TYPES:
            raise ValueError(
                f"Unknown source_type={tag!r} at index {i}: expected one of {sorted(_SOURCE_TYPES)}"
            )
        out.append(_source_class(tag)(**item))
    return out


def _indexes(storage: Any) -> bool:
    """Whether ``storage`` indexes chunks by hash (the built-in ``KnowledgeStorage``)."""
    return callable(getattr(storage, "aindex", None))


class Knowledge(BaseModel):
    """``Knowledge(collection_name, sources, embedder=None, storage=None)``: ``embedder`` is
    CrewAI's ``embedder=`` dict; ``storage`` a storage of your own (default: the registered
    factory's, else a :class:`KnowledgeStorage` for ``collection_name`` in
    ``$FASTCREW_STORAGE_DIR/knowledge``)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    sources: list[BaseKnowledgeSource] = Field(default_factory=list)
    storage: Any = Field(default=None)
    embedder: Any = None
    collection_name: str | None = None

    _once: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[None]] = PrivateAttr(
        default_factory=weakref.WeakKeyDictionary
    )
    _indexed: bool = PrivateAttr(default=False)

    def __init__(
        self,
        collection_name: str,
        sources: list[BaseKnowledgeSource],
        embedder: Any = None,
        storage: Any = None,
        **data: Any,
    ) -> None:
        try:
            super().__init__(
                collection_name=collection_name, sources=sources, embedder=embedder, **data
            )
        except ValidationError as exc:  # a fastcrew error of a source, raised as itself
            found = unwrap_validation_error(exc)
            if found is exc:
                raise
            raise found from None
        if storage is None:
            storage = resolve_knowledge_storage(embedder, collection_name)
        if storage is None:
            storage = KnowledgeStorage(embedder=embedder, collection_name=collection_name)
        self.storage = storage

    @field_validator("sources", mode="before")
    @classmethod
    def _sources(cls, value: Any) -> Any:
        return resolve_knowledge_sources(value)

    def _require_storage(self) -> Any:
        if self.storage is None:
            raise ValueError("Storage is not initialized.")
        return self.storage

    # -- indexing -------------------------------------------------------------------------

    async def aadd_sources(self) -> None:
        """Index every source: into the built-in storage, the chunks it lacks are embedded
        and added; any other storage gets each source's ``aadd`` (CrewAI's path), as does a
        source without :meth:`~BaseKnowledgeSource.document_texts`."""
        storage = self.storage
        for source in self.sources:
            source.storage = storage
            if not _indexes(storage):
                await source.aadd()
                continue
            try:
                chunks = source.knowledge_chunks()
            except NotImplementedError:
                await source.aadd()
                continue
            if not source.chunks:
                source.chunks.extend(chunk.text for chunk in chunks)
            await storage.aindex(chunks, source.metadata)
        self._indexed = True

    def add_sources(self) -> None:
        """:meth:`aadd_sources`, blocking (refused inside a running loop); a storage of your
        own gets each source's blocking ``add`` (its ``save``), as in CrewAI."""
        if _indexes(self.storage):
            get_runtime().run(self.aadd_sources(), api="add_sources", async_api="aadd_sources")
            return
        for source in self.sources:
            source.storage = self.storage
            source.add()
        self._indexed = True

    async def aensure_indexed(self) -> None:
        """Index the sources once per object: concurrent callers on a loop await the same
        indexing; a failed one is tried again by the next caller."""
        if self._indexed or not self.sources:
            return
        loop = asyncio.get_running_loop()
        task = self._once.get(loop)
        if task is None or (task.done() and (task.cancelled() or task.exception())):
            task = loop.create_task(self.aadd_sources())
            self._once[loop] = task
        await asyncio.shield(task)

    # -- queries --------------------------------------------------------------------------

    async def aquery(
        self, query: list[str], results_limit: int = 5, score_threshold: float = 0.6
    ) -> list[SearchResult]:
        """The ``results_limit`` most relevant chunks scoring at least ``score_threshold``
        (indexing the sources first if they were not yet)."""
        storage = self._require_storage()
        await self.aensure_indexed()
        found: list[SearchResult] = await storage.asearch(
            query, limit=results_limit, score_threshold=score_threshold
        )
        return found

    def query(
        self, query: list[str], results_limit: int = 5, score_threshold: float = 0.6
    ) -> list[SearchResult]:
        """:meth:`aquery`, blocking (refused inside a running loop); a storage of your own is
        searched with its blocking ``search``."""
        storage = self._require_storage()
        if _indexes(storage):
            work = self.aquery(query, results_limit, score_threshold)
            return get_runtime().run(work, api="Knowledge.query", async_api="Knowledge.aquery")
        if not self._indexed and self.sources:
            self.add_sources()
        found: list[SearchResult] = storage.search(
            query, limit=results_limit, score_threshold=score_threshold
        )
        return found

    async def areset(self) -> None:
        """Delete the collection (the sources are indexed again when next needed)."""
        await self._require_storage().areset()
        self._forget_indexing()

    def reset(self) -> None:
        """Delete the collection with the storage's blocking ``reset``."""
        self._require_storage().reset()
        self._forget_indexing()

    def _forget_indexing(self) -> None:
        self._indexed = False
        self._once.clear()
