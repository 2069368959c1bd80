"""CrewAI compatibility: knowledge storage, as CrewAI's own
``tests/knowledge/test_async_knowledge.py``, ``test_knowledge_storage_integration.py`` and
``test_storage_factory.py`` pin them down (CrewAI 1.15; written for fastcrew, not copied).
Where CrewAI's tests patch its RAG client and check the calls it gets, these run
``KnowledgeStorage`` on a real LanceDB collection and the simulator's ``/v1/embeddings``, and
check what the collection holds; where they check what ``Knowledge`` or a source asks of a
storage, a storage of one's own records it (``RecordingStorage``, a ``BaseKnowledgeStorage``
subclass). The blocking calls run against a simulator in a child process (they use the
runtime's home loop). Sources and ``Knowledge`` queries are in ``test_knowledge.py``.

Covered from ``test_async_knowledge.py``: all 13 — ``TestAsyncKnowledgeStorage``
(``test_asearch_returns_results``, ``test_asave_calls_client_methods``,
``test_areset_calls_client_delete``; ``test_asearch_empty_query_raises_error`` differs),
``TestAsyncKnowledge`` (``test_aquery_calls_storage_asearch``,
``test_aquery_raises_when_storage_not_initialized``, ``test_aadd_sources_calls_source_aadd``,
``test_areset_calls_storage_areset``, ``test_areset_raises_when_storage_not_initialized``),
``TestAsyncStringKnowledgeSource`` (``test_aadd_saves_documents_asynchronously``,
``test_aadd_raises_without_storage``) and ``TestAsyncBaseKnowledgeSource``
(``test_asave_documents_calls_storage_asave``, ``test_asave_documents_raises_without_storage``).

Covered from ``test_knowledge_storage_integration.py``: all 9 —
``test_knowledge_storage_uses_rag_client``, ``test_collection_name_prefixing``,
``test_save_documents_integration``, ``test_reset_integration``,
``test_embedding_configuration_flow``, ``test_query_list_conversion``,
``test_metadata_filter_handling``, ``test_dimension_mismatch_error_handling``;
``test_search_error_handling`` differs.

Covered from ``test_storage_factory.py``: all 5 — ``test_resolve_reflects_registered_factory``,
``test_factory_used_when_no_explicit_storage``,
``test_factory_receives_embedder_and_collection_name``, ``test_explicit_storage_bypasses_factory``,
``test_falsy_explicit_storage_is_honored``.

Deliberately different (2): CrewAI's storage logs a failed search and returns ``[]`` (an
empty query included); fastcrew raises, so a crew whose knowledge cannot be searched fails
the task instead of running it silently without its knowledge (docs/compatibility.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from echo_sim import echo_sim_fixture, embedder, storage_fixture  # noqa: F401
from knowledge.recording_storage import RecordingStorage

import fastcrew.knowledge.storage.factory as factory
from fastcrew.errors import AuthenticationError
from fastcrew.knowledge.knowledge import Knowledge
from fastcrew.knowledge.source.string_knowledge_source import StringKnowledgeSource
from fastcrew.knowledge.storage.base_knowledge_storage import BaseKnowledgeStorage
from fastcrew.knowledge.storage.knowledge_storage import KnowledgeStorage
from fastcrew.sim import Simulator, SpawnedSim, serve, spawn
from fastcrew.vectors import VectorRecord

DOCS = ["Dolphins sleep with one eye open.", "Owls can rotate their heads far."]


@pytest.fixture(scope="module")
def spawned() -> Iterator[SpawnedSim]:
    """A simulator in a child process, for the blocking calls."""
    with spawn() as server:
        yield server


@pytest.fixture
def child(spawned: SpawnedSim, storage: Path) -> SpawnedSim:
    """The child simulator with its counters at zero, and this test's storage folder."""
    spawned.reset_stats()
    return spawned


def spec(sim: Simulator | SpawnedSim, dimensions: int = 256) -> dict[str, Any]:
    """CrewAI's ``embedder=`` dict for the simulator's embeddings."""
    found = embedder(sim)  # type: ignore[arg-type]
    found["config"]["dimensions"] = dimensions
    return found


def texts(store: KnowledgeStorage) -> list[str]:
    return sorted(record.text for record in store.table.scan())


# -- test_async_knowledge.py: TestAsyncKnowledgeStorage ---------------------------------


async def test_asearch_returns_results(storage: Path, sim: Simulator) -> None:
    store = KnowledgeStorage(embedder=spec(sim), collection_name="test_collection")
    await store.asave(DOCS)
    found = await store.asearch(["Do dolphins sleep?"])
    assert [r["content"] for r in found] == [DOCS[0]]


async def test_asearch_empty_query_raises_error(storage: Path, sim: Simulator) -> None:
    """Differs: CrewAI logs the error and returns []; fastcrew raises it."""
    store = KnowledgeStorage(embedder=spec(sim), collection_name="test_collection")
    with pytest.raises(ValueError, match="Query cannot be empty"):
        await store.asearch([])


async def test_asave_calls_client_methods(storage: Path, sim: Simulator) -> None:
    store = KnowledgeStorage(embedder=spec(sim), collection_name="test_collection")
    await store.asave(DOCS)  # the collection is made by the first save
    assert store.table.name.startswith("knowledge_test_collection__")
    assert await store.table.acount() == 2


async def test_areset_calls_client_delete(storage: Path, sim: Simulator) -> None:
    store = KnowledgeStorage(embedder=spec(sim), collection_name="test_collection")
    await store.asave(DOCS)
    assert store.table.name in await store.table.store.atable_names()
    await store.areset()
    assert store.table.name not in await store.table.store.atable_names()
    assert await store.asearch(["dolphins"]) == []


# -- TestAsyncKnowledge -----------------------------------------------------------------


async def test_aquery_calls_storage_asearch() -> None:
    storage = RecordingStorage(documents=["the test query answer"])
    knowledge = Knowledge(collection_name="test", sources=[], storage=storage)
    found = await knowledge.aquery(["test query"])
    assert len(found) == 1
    assert storage.calls == [("asearch", ["test query"], 5, None, 0.6)]  # CrewAI's defaults


async def test_aquery_raises_when_storage_not_initialized() -> None:
    knowledge = Knowledge(collection_name="test", sources=[], storage=RecordingStorage())
    knowledge.storage = None
    with pytest.raises(ValueError, match="Storage is not initialized"):
        await knowledge.aquery(["test query"])


async def test_aadd_sources_calls_source_aadd() -> None:
    storage = RecordingStorage()
    source = StringKnowledgeSource(content="Some text to index")
    await Knowledge(collection_name="test", sources=[source], storage=storage).aadd_sources()
    assert source.storage is storage
    assert source.chunks == ["Some text to index"]  # the source's aadd chunked it ...
    assert storage.calls == [("asave", ["Some text to index"])]  # ... and saved its chunks


async def test_areset_calls_storage_areset() -> None:
    storage = RecordingStorage()
    await Knowledge(collection_name="test", sources=[], storage=storage).areset()
    assert storage.names() == ["areset"]


async def test_areset_raises_when_storage_not_initialized() -> None:
    knowledge = Knowledge(collection_name="test", sources=[], storage=RecordingStorage())
    knowledge.storage = None
    with pytest.raises(ValueError, match="Storage is not initialized"):
        await knowledge.areset()


# -- TestAsyncStringKnowledgeSource, TestAsyncBaseKnowledgeSource -------------------------


async def test_aadd_saves_documents_asynchronously() -> None:
    storage = RecordingStorage()
    source = StringKnowledgeSource(content="Async text " * 500, chunk_size=1000)
    source.storage = storage
    await source.aadd()
    assert len(source.chunks) == 7  # 5,500 characters, a window every 800
    assert storage.calls == [("asave", source.chunks)]


async def test_aadd_raises_without_storage() -> None:
    source = StringKnowledgeSource(content="Test content")
    with pytest.raises(ValueError, match="No storage found"):
        await source.aadd()


async def test_asave_documents_calls_storage_asave() -> None:
    storage = RecordingStorage()
    source = StringKnowledgeSource(content="Test", storage=storage)
    source.chunks = ["chunk1", "chunk2"]
    await source._asave_documents()
    assert storage.calls == [("asave", ["chunk1", "chunk2"])]


async def test_asave_documents_raises_without_storage() -> None:
    source = StringKnowledgeSource(content="Test")
    with pytest.raises(ValueError, match="No storage found"):
        await source._asave_documents()


# -- test_knowledge_storage_integration.py ----------------------------------------------


def test_knowledge_storage_uses_rag_client(child: SpawnedSim, storage: Path) -> None:
    store = KnowledgeStorage(embedder=spec(child), collection_name="test_knowledge")
    assert not storage.exists()  # building it did no I/O
    store.save(DOCS)
    found = store.search(["Do owls rotate heads?"], limit=5, score_threshold=0.3)
    assert found
    assert found[0]["content"] == DOCS[1]
    assert child.stats()["embedding_inputs"] == 3  # through the embedder given: docs, query


def test_collection_name_prefixing(child: SpawnedSim) -> None:
    named = KnowledgeStorage(embedder=spec(child), collection_name="custom_knowledge")
    assert named.table.name.startswith("knowledge_custom_knowledge__")
    assert KnowledgeStorage(embedder=spec(child)).table.name.startswith("knowledge__")


def test_save_documents_integration(child: SpawnedSim) -> None:
    store = KnowledgeStorage(embedder=spec(child), collection_name="test_docs")
    store.save(["Document 1 content", "Document 2 content"])
    assert texts(store) == ["Document 1 content", "Document 2 content"]


def test_reset_integration(child: SpawnedSim) -> None:
    store = KnowledgeStorage(embedder=spec(child), collection_name="test_reset")
    store.save(DOCS)
    store.reset()
    assert store.table.name not in store.table.store.table_names()


async def test_search_error_handling(storage: Path) -> None:
    """Differs: CrewAI logs a failed search and returns []; fastcrew raises the error."""
    async with serve(api_key="the-right-key") as sim:
        store = KnowledgeStorage(embedder=spec(sim), collection_name="error_test")  # key "k"
        with pytest.raises(AuthenticationError, match="401"):
            await store.asearch(["test query"])


def test_embedding_configuration_flow(child: SpawnedSim) -> None:
    config = spec(child, dimensions=64)
    store = KnowledgeStorage(embedder=config, collection_name="embedding_test")
    assert store.embedder_spec == config
    assert store.embedder.config.dimensions == 64
    store.save(DOCS)
    assert store.table.dim == 64  # the vectors are the configured embedder's


def test_query_list_conversion(child: SpawnedSim) -> None:
    store = KnowledgeStorage(embedder=spec(child), collection_name="queries")
    store.save(DOCS)
    joined = store.search(["dolphins sleep", "owls rotate"], score_threshold=0.0)
    inputs = child.stats()["embedding_inputs"]
    # the strings were searched as one text: searching it again embeds nothing new
    assert store.search(["dolphins sleep owls rotate"], score_threshold=0.0) == joined
    assert child.stats()["embedding_inputs"] == inputs
    single = store.search(["owls rotate"], score_threshold=0.0)
    assert single[0]["content"] == DOCS[1]


def test_metadata_filter_handling(child: SpawnedSim) -> None:
    sources = [
        StringKnowledgeSource(content="Fast indexes: a technical note.", metadata={"kind": "tech"}),
        StringKnowledgeSource(content="Fast lunches: a kitchen note.", metadata={"kind": "food"}),
        StringKnowledgeSource(
            content="Fast indexes: a second technical note, high priority.",
            metadata={"kind": "tech", "priority": "high"},
        ),
    ]
    knowledge = Knowledge("filters", sources=sources, embedder=spec(child))
    knowledge.add_sources()
    store = knowledge.storage
    wanted = {"kind": "tech", "priority": "high"}
    found = store.search(
        ["Fast lunches kitchen"], limit=1, metadata_filter=wanted, score_threshold=0
    )
    # the best match under the filter, though two nearer chunks do not match it
    assert [r["content"] for r in found] == [sources[2].content]
    everything = store.search(["Fast"], metadata_filter=None, score_threshold=0)
    assert len(everything) == 3


def test_dimension_mismatch_error_handling(child: SpawnedSim) -> None:
    store = KnowledgeStorage(embedder=spec(child), collection_name="dimension_test")
    # the collection holds vectors of another length (written by another embedding model)
    store.table.add([VectorRecord(id="old", text="old", vector=[1.0] * 8, metadata={}, scope="/")])
    with pytest.raises(ValueError, match="Embedding dimension mismatch"):
        store.save(["test document"])
    # a model of another size gets a collection of its own, so it never meets this error
    other = KnowledgeStorage(embedder=spec(child, dimensions=64), collection_name="dimension_test")
    other.save(["test document"])
    assert other.table.name != store.table.name
    assert texts(other) == ["test document"]


# -- test_storage_factory.py -------------------------------------------------------------


@pytest.fixture
def no_factory() -> Iterator[None]:
    """No factory registered during the test; the one before restored after it."""
    before = factory._factory
    factory.set_knowledge_storage_factory(None)
    yield
    factory.set_knowledge_storage_factory(before)


def test_resolve_reflects_registered_factory(no_factory: None) -> None:
    mine = RecordingStorage()
    assert factory.resolve_knowledge_storage(None, "docs") is None
    factory.set_knowledge_storage_factory(lambda embedder, name: mine)
    assert factory.resolve_knowledge_storage(None, "docs") is mine


def test_factory_used_when_no_explicit_storage(no_factory: None) -> None:
    mine = RecordingStorage()
    factory.set_knowledge_storage_factory(lambda embedder, name: mine)
    assert Knowledge(collection_name="docs", sources=[]).storage is mine
    factory.set_knowledge_storage_factory(lambda embedder, name: None)  # declines
    assert isinstance(Knowledge(collection_name="docs", sources=[]).storage, KnowledgeStorage)


def test_factory_receives_embedder_and_collection_name(no_factory: None) -> None:
    seen: list[tuple[Any, Any]] = []

    def make(embedder: Any, collection_name: str | None) -> BaseKnowledgeStorage:
        seen.append((embedder, collection_name))
        return RecordingStorage()

    factory.set_knowledge_storage_factory(make)
    Knowledge(collection_name="docs", sources=[])
    Knowledge(collection_name="other", sources=[], embedder={"provider": "ollama"})
    assert seen == [(None, "docs"), ({"provider": "ollama"}, "other")]


def test_explicit_storage_bypasses_factory(no_factory: None) -> None:
    calls: list[str | None] = []
    factory.set_knowledge_storage_factory(lambda embedder, name: calls.append(name))
    explicit = RecordingStorage()
    assert Knowledge(collection_name="docs", sources=[], storage=explicit).storage is explicit
    assert calls == []


def test_falsy_explicit_storage_is_honored(no_factory: None) -> None:
    class FalsyStorage(RecordingStorage):
        def __bool__(self) -> bool:
            return False

    explicit = FalsyStorage()
    source = StringKnowledgeSource(content="Kept despite falsiness")
    knowledge = Knowledge(collection_name="docs", sources=[source], storage=explicit)
    assert knowledge.storage is explicit
    knowledge.reset()  # not "Storage is not initialized."
    knowledge.add_sources()  # the source saves to it: no "No storage found"
    assert explicit.calls == [("reset",), ("save", ["Kept despite falsiness"])]
