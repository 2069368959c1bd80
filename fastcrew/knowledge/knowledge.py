"""``Knowledge``: sources and the storage they are indexed in, queried by meaning (CrewAI's).

Building one does no I/O. Its sources are indexed by :meth:`Knowledge.aadd_sources` (CrewAI's
explicit call) or, once, by :meth:`Knowledge.aensure_indexed` — which a crew awaits at its
first kickoff and :meth:`Knowledge.aquery` awaits first — so indexing happens once per
``Knowledge`` object however many runs start together.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from .source.base_knowledge_source import BaseKnowledgeSource
from .storage import KnowledgeStorage, SearchResult

__all__ = ["Knowledge", "extract_knowledge_context", "resolve_knowledge_sources"]

_SOURCE_TYPES = {
    "string": "string_knowledge_source:StringKnowledgeSource",
    "text_file": "text_file_knowledge_source:TextFileKnowledgeSource",
    "pdf": "pdf_knowledge_source:PDFKnowledgeSource",
    "csv": "csv_knowledge_source:CSVKnowledgeSource",
    "json": "json_knowledge_source:JSONKnowledgeSource",
    "excel": "excel_knowledge_source:ExcelKnowledgeSource",
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
        out.append(_source_class(tag).model_validate(dict(item)))
    return out


def extract_knowledge_context(snippets: list[SearchResult] | None) -> str:
    """``"Additional Information: "`` and the contents found, one per line (CrewAI's text);
    empty when nothing was found."""
    found = [s["content"] for s in snippets or () if s and s.get("content")]
    return "Additional Information: " + "\n".join(found) if found else ""


class Knowledge(BaseModel):
    """``Knowledge(collection_name, sources, embedder=None, storage=None)``: ``embedder`` is
    CrewAI's ``embedder=`` dict; ``storage`` a :class:`KnowledgeStorage` (default: one for
    ``collection_name`` in ``$FASTCREW_STORAGE_DIR/knowledge``)."""

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
        super().__init__(
            collection_name=collection_name, sources=sources, embedder=embedder, **data
        )
        self.storage = (
            storage
            if storage is not None
            else KnowledgeStorage(embedder=embedder, collection_name=collection_name)
        )

    @field_validator("sources", mode="before")
    @classmethod
    def _sources(cls, value: Any) -> Any:
        return resolve_knowledge_sources(value)

    # -- indexing -------------------------------------------------------------------------

    async def aadd_sources(self) -> None:
        """Index every source: its chunks not yet in the collection are embedded and added
        (a source without :meth:`~BaseKnowledgeSource.document_texts` goes through its own
        ``aadd``, CrewAI's path)."""
        for source in self.sources:
            source.storage = self.storage
            try:
                chunks = source.knowledge_chunks()
            except NotImplementedError:
                await source.aadd()
                continue
            if not source.chunks:
                source.chunks.extend(chunk.text for chunk in chunks)
            index = getattr(self.storage, "aindex", None)
            if index is not None:
                await index(chunks, source.metadata)
            else:  # a storage of the user's own: CrewAI's asave of texts
                await self.storage.asave([chunk.text for chunk in chunks])
        self._indexed = True

    def add_sources(self) -> None:
        """:meth:`aadd_sources`, blocking (refused inside a running loop)."""
        from ..process_runtime import get_runtime

        get_runtime().run(self.aadd_sources(), api="add_sources", async_api="aadd_sources")

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
        if self.storage is None:
            raise ValueError("Storage is not initialized.")
        await self.aensure_indexed()
        found: list[SearchResult] = await self.storage.asearch(
            query, limit=results_limit, score_threshold=score_threshold
        )
        return found

    def query(
        self, query: list[str], results_limit: int = 5, score_threshold: float = 0.6
    ) -> list[SearchResult]:
        """:meth:`aquery`, blocking (refused inside a running loop)."""
        from ..process_runtime import get_runtime

        work = self.aquery(query, results_limit, score_threshold)
        return get_runtime().run(work, api="Knowledge.query", async_api="Knowledge.aquery")

    async def areset(self) -> None:
        """Delete the collection (the sources are indexed again when next needed)."""
        if self.storage is None:
            raise ValueError("Storage is not initialized.")
        await self.storage.areset()
        self._indexed = False
        self._once.clear()

    def reset(self) -> None:
        """:meth:`areset`, blocking."""
        from ..process_runtime import get_runtime

        get_runtime().run(self.areset(), api="Knowledge.reset", async_api="Knowledge.areset")
