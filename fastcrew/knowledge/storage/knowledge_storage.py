"""``KnowledgeStorage``: a knowledge collection as a table of the vector store, embedded once.

Indexing a collection (:meth:`KnowledgeStorage.aindex`): the chunks' ids are their content
hashes (SHA-256, as CrewAI's Chroma ids); holding a lock file per collection (``flock``,
so across processes), the ids the table already holds are skipped, only the new chunks are
embedded (:class:`~fastcrew.embeddings.Embedder`, every vector also kept by content) and
added. So two batch workers starting together embed each chunk once in all, and a second
run embeds nothing.

The table lives in the store ``$FASTCREW_STORAGE_DIR/knowledge`` (see
:func:`~fastcrew.vectors.default_store_dir`), named after the collection as CrewAI names it
(``knowledge_<collection>``) plus a digest of the embedder (endpoint, model, dimensions): a
vector of one model is never compared with another's. Nothing is opened, read or resolved
before the first call, so building a storage is cheap.

Scores are CrewAI's: ``1 - distance / 2`` for the cosine distance, i.e. ``(1 + cos) / 2``
in [0, 1]; ``score_threshold`` applies to that.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import aclosing, contextmanager
from typing import TYPE_CHECKING, Any

from pydantic import Field, PrivateAttr

from ...process_runtime import get_runtime
from ..chunking import KnowledgeChunk, content_hash
from .base_knowledge_storage import BaseKnowledgeStorage, SearchResult

if TYPE_CHECKING:
    from ...embeddings import Embedder
    from ...vectors import Hit, VectorStore, VectorTable

__all__ = ["STORE_NAME", "IndexStats", "KnowledgeStorage", "SearchResult", "table_name"]

STORE_NAME = "knowledge"
"""The vector store's folder under ``$FASTCREW_STORAGE_DIR``."""

_INVALID = re.compile(r"[^A-Za-z0-9_-]")
_MAX_NAME = 63


def table_name(collection_name: str | None, embedder_key: str) -> str:
    """``knowledge_<collection>`` (CrewAI's collection name; characters other than letters,
    digits, ``_`` and ``-`` become ``_``) plus ``__<digest of the embedder>``."""
    base = f"knowledge_{collection_name}" if collection_name else "knowledge"
    base = _INVALID.sub("_", base)[:_MAX_NAME]
    return f"{base}__{embedder_key}"


@contextmanager
def _same_dimensions() -> Iterator[None]:
    """The vector store's dimension error as CrewAI's ``Embedding dimension mismatch``."""
    from ...vectors import DimensionMismatchError

    try:
        yield
    except DimensionMismatchError as exc:
        raise ValueError(
            f"Embedding dimension mismatch: {exc}. The collection was built with another "
            "embedding model: use that one, or reset the collection (storage.reset())."
        ) from exc


def _score(cosine: float) -> float:
    """CrewAI's score of a cosine similarity, ``(1 + cos) / 2``, clipped to [0, 1]."""
    return max(0.0, min(1.0, 1.0 - 0.5 * (1.0 - cosine)))


class IndexStats:
    """What indexing did, over the storage's life: chunks seen, chunks already in the table,
    chunks embedded and added."""

    __slots__ = ("added", "present", "seen")

    def __init__(self) -> None:
        self.seen = 0
        self.present = 0
        self.added = 0

    def __repr__(self) -> str:
        return f"IndexStats(seen={self.seen}, present={self.present}, added={self.added})"


class KnowledgeStorage(BaseKnowledgeStorage):
    """One knowledge collection (CrewAI's ``KnowledgeStorage``): ``embedder`` is CrewAI's
    ``embedder=`` dict (None: OpenAI's ``text-embedding-3-small``) or an
    :class:`~fastcrew.embeddings.Embedder`, kept as ``embedder_spec``; ``store`` a
    :class:`~fastcrew.vectors.VectorStore` (default: ``$FASTCREW_STORAGE_DIR/knowledge``,
    resolved at first use)."""

    collection_name: str | None = None
    embedder_spec: Any = Field(default=None, exclude=True)

    _store: Any = PrivateAttr(default=None)
    _embedder: Any = PrivateAttr(default=None)
    _unstored: Any = PrivateAttr(default=None)
    _table: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _stats: IndexStats = PrivateAttr(default_factory=IndexStats)

    def __init__(
        self,
        embedder: Any = None,
        collection_name: str | None = None,
        *,
        store: VectorStore | None = None,
        **data: Any,
    ) -> None:
        super().__init__(embedder_spec=embedder, collection_name=collection_name, **data)
        self._store = store

    def __repr__(self) -> str:
        return f"KnowledgeStorage(collection_name={self.collection_name!r})"

    @property
    def stats(self) -> IndexStats:
        """What :meth:`aindex` did so far."""
        return self._stats

    # -- lazily built parts ---------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The :class:`~fastcrew.embeddings.Embedder` (built at first use)."""
        with self._lock:
            if self._embedder is None:
                from ...embeddings import Embedder

                spec = self.embedder_spec
                self._embedder = spec if isinstance(spec, Embedder) else Embedder(spec)
            found: Embedder = self._embedder
            return found

    def _chunk_embedder(self) -> Embedder:
        """The embedder of the chunks (:meth:`Embedder.unstored`), made once."""
        embedder = self.embedder  # takes the lock itself
        with self._lock:
            if self._unstored is None:
                self._unstored = embedder.unstored()
            found: Embedder = self._unstored
            return found

    @property
    def table(self) -> VectorTable:
        """The collection's table (opened at first use; made on disk by the first add)."""
        embedder = self.embedder
        with self._lock:
            if self._table is None:
                from ...vectors import VectorStore

                if self._store is None:
                    self._store = VectorStore(STORE_NAME)
                digest = embedder.config.space_digest
                self._table = self._store.table(table_name(self.collection_name, digest))
            found: VectorTable = self._table
            return found

    # -- indexing -------------------------------------------------------------------------

    async def aindex(
        self, chunks: Sequence[KnowledgeChunk], metadata: Mapping[str, Any] | None = None
    ) -> int:
        """Add the chunks the collection lacks, embedding only those; returns how many were
        added. Holds the collection's cross-process lock throughout, so concurrent indexers
        (threads, worker processes) embed each chunk once in all."""
        unique = {chunk.content_hash: chunk.text for chunk in chunks}
        if not unique:
            return 0
        from ...vectors import VectorRecord, WriteLock

        table = self.table
        lock = WriteLock(table.store.path / f"{table.name}.index.lock", timeout=600.0)
        async with lock.ahold():
            await table.arefresh()  # another process's adds, seen now
            present = await table.aids_present(unique)
            ids = [key for key in unique if key not in present]
            self._stats.seen += len(unique)
            self._stats.present += len(present)
            if not ids:
                return 0
            texts = [unique[key] for key in ids]
            # The collection keeps the chunks' vectors by content: not the embedding store too.
            # Each request's vectors are added as it answers, while the others are in flight.
            meta = dict(metadata or {})
            added = 0
            async with aclosing(self._chunk_embedder().aembed_parts(texts)) as parts:
                async for positions, vectors in parts:
                    records = [
                        VectorRecord(id=ids[i], text=texts[i], vector=vector, metadata=meta,
                                     scope="/")
                        for i, vector in zip(positions, vectors, strict=True)
                    ]  # fmt: skip
                    with _same_dimensions():  # ids checked above, under the lock
                        count = await table.aadd(records, absent=True)
                    added += count
                    self._stats.added += count
        return added

    async def asave(self, documents: list[str]) -> None:
        """CrewAI's ``asave``: index ``documents`` (chunk texts; each kept once)."""
        await self.aindex([KnowledgeChunk(text, content_hash(text)) for text in documents])

    def save(self, documents: list[str]) -> None:
        """CrewAI's ``save``: :meth:`asave`, blocking (refused inside a running loop)."""
        get_runtime().run(self.asave(documents), api="save", async_api="asave")

    # -- search ---------------------------------------------------------------------------

    async def asearch(
        self,
        query: list[str],
        limit: int = 5,
        metadata_filter: Mapping[str, Any] | None = None,
        score_threshold: float = 0.6,
    ) -> list[SearchResult]:
        """The ``limit`` chunks nearest the query (its strings joined by spaces, as CrewAI),
        scoring at least ``score_threshold``, best first; ``metadata_filter`` keeps those
        whose metadata has these values (the best ``limit`` of those)."""
        if not query:
            raise ValueError("Query cannot be empty")
        text = " ".join(query) if len(query) > 1 else query[0]
        table = self.table
        if limit <= 0:
            return []
        [vector] = await self.embedder.aembed([text])
        wanted = dict(metadata_filter or {})
        k = limit
        while True:
            with _same_dimensions():
                hits = await table.asearch(vector, k)
            results = _results(hits, wanted, score_threshold)
            # a filter may leave fewer than limit: look further while nearer hits remain
            exhausted = len(hits) < k or _score(hits[-1][1]) < score_threshold
            if len(results) >= limit or exhausted or not wanted:
                return results[:limit]
            k *= 4

    def search(
        self,
        query: list[str],
        limit: int = 5,
        metadata_filter: Mapping[str, Any] | None = None,
        score_threshold: float = 0.6,
    ) -> list[SearchResult]:
        """:meth:`asearch`, blocking (refused inside a running loop)."""
        work = self.asearch(query, limit, metadata_filter, score_threshold)
        return get_runtime().run(work, api="search", async_api="asearch")

    async def areset(self) -> None:
        """Delete the collection's table."""
        table = self.table
        await table.store.adrop(table.name)

    def reset(self) -> None:
        """:meth:`areset`, blocking."""
        get_runtime().run(self.areset(), api="reset", async_api="areset")


def _results(
    hits: Sequence[Hit], wanted: Mapping[str, Any], score_threshold: float
) -> list[SearchResult]:
    """CrewAI's result dicts of the hits scoring at least ``score_threshold`` whose
    metadata has the ``wanted`` values."""
    results: list[SearchResult] = []
    for record, cosine in hits:
        score = _score(cosine)
        if score_threshold and score < score_threshold:
            continue
        metadata = dict(record.metadata)
        if any(metadata.get(key) != value for key, value in wanted.items()):
            continue
        results.append(
            {"id": record.id, "content": record.text, "metadata": metadata, "score": score}
        )
    return results
