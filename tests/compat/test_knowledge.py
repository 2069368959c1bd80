"""CrewAI compatibility: knowledge sources and ``Knowledge``, as CrewAI's own
``tests/knowledge/test_knowledge.py`` and ``tests/knowledge/test_knowledge_searchresult.py``
pin them down (CrewAI 1.15; written for fastcrew, not copied, with texts of our own). Runs on
the simulator, whose ``/v1/embeddings`` puts texts sharing words near each other: where
CrewAI's tests patch ``KnowledgeStorage`` and ask the mock, these index the sources in a
real LanceDB collection and search it. Where a CrewAI test checks the calls a storage
receives, a storage of one's own records them (``RecordingStorage``, a
``BaseKnowledgeStorage`` subclass as a CrewAI user writes one). Storage, async and factory
tests are in ``test_knowledge_storage.py``.

Covered from ``test_knowledge.py`` (17 of 18): ``test_single_short_string``,
``test_single_2k_character_string``, ``test_multiple_short_strings``,
``test_multiple_2k_character_strings``, ``test_single_short_file``,
``test_single_2k_character_file``, ``test_multiple_short_files``,
``test_multiple_2k_character_files``, ``test_hybrid_string_and_files``,
``test_pdf_knowledge_source``, ``test_csv_knowledge_source``, ``test_json_knowledge_source``,
``test_excel_knowledge_source`` (each: the source indexed, the question finds the fact),
``test_file_path_validation``, ``test_hash_based_id_generation_without_doc_id`` (through the
knowledge storage: a document's id is its content's SHA-256, a repeated document is stored
once; the ``content|metadata`` form of that test is CrewAI's generic RAG client's, which its
knowledge storage never reaches: it saves no metadata), and, deliberately different,
``test_docling_source`` and ``test_multiple_docling_sources``: ``CrewDoclingSource`` raises
``UnsupportedFeatureError`` (docling pulls in torch and downloads its models from the
internet when it converts; the message names the sources to use instead).

Covered from ``test_knowledge_searchresult.py``: all 9 —
``test_knowledge_query_returns_searchresult``, ``test_knowledge_query_with_empty_results``,
``test_extract_knowledge_context_with_searchresult``,
``test_extract_knowledge_context_with_empty_content``,
``test_extract_knowledge_context_filters_invalid_results``,
``test_knowledge_storage_exception_handling``, ``test_knowledge_add_sources_integration``,
``test_knowledge_reset_integration``, ``test_knowledge_reset_without_storage``.

Left out (1): ``test_hash_based_id_generation_with_doc_id_in_metadata`` (a ``doc_id`` in a
record's metadata becomes its id in CrewAI's Chroma client; knowledge never passes one).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from echo_sim import echo_sim_fixture, embedder, storage_fixture  # noqa: F401
from knowledge.recording_storage import RecordingStorage

from fastcrew.errors import UnsupportedFeatureError
from fastcrew.knowledge.knowledge import Knowledge
from fastcrew.knowledge.source.base_knowledge_source import BaseKnowledgeSource
from fastcrew.knowledge.source.crew_docling_source import CrewDoclingSource
from fastcrew.knowledge.source.csv_knowledge_source import CSVKnowledgeSource
from fastcrew.knowledge.source.excel_knowledge_source import ExcelKnowledgeSource
from fastcrew.knowledge.source.json_knowledge_source import JSONKnowledgeSource
from fastcrew.knowledge.source.pdf_knowledge_source import PDFKnowledgeSource
from fastcrew.knowledge.source.string_knowledge_source import StringKnowledgeSource
from fastcrew.knowledge.source.text_file_knowledge_source import TextFileKnowledgeSource
from fastcrew.knowledge.storage.knowledge_storage import KnowledgeStorage
from fastcrew.knowledge.utils.knowledge_utils import extract_knowledge_context
from fastcrew.sim import Simulator

FILES = Path(__file__).parent.parent / "knowledge" / "files"
PERSONAL = {"preference": "personal"}

MARTA = " ".join(
    [
        "Marta is a marine biologist who lives in Lisbon near the river.",
        "She swims in the ocean every morning before work.",
        "Marta keeps a tabby cat named Pixel who sleeps on her desk.",
        "Her favourite film is Vertigo, which she watches every winter.",
        "She collects old maps of the Portuguese coast.",
        "Marta plays the cello in a small amateur orchestra.",
        "She grows tomatoes and basil on her balcony.",
        "Marta studies octopus behaviour at the aquarium laboratory.",
        "She learns Japanese on the tram to the harbour.",
        "Her favourite colour is green, like the deep sea kelp forests.",
    ]
)
TOMAS = " ".join(
    [
        "Tomas is a carpenter who builds wooden boats in a northern village.",
        "He hikes mountain trails with his brother every autumn.",
        "Tomas bakes rye bread on Sundays for the neighbours.",
        "His favourite novel is Middlemarch, which he rereads each year.",
        "He repairs antique clocks in his garage workshop.",
        "Tomas sings folk songs in the village choir.",
        "He fishes for trout in the cold lake at dawn.",
        "Tomas restores vintage bicycles and sells them at the spring fair.",
        "He keeps bees behind the barn and sells their honey.",
        "His favourite season is winter when the lake freezes.",
    ]
)
LONG_MARTA = (MARTA + " ") * 4  # over 2,000 characters, one chunk (CrewAI's 4,000 window)
LONG_TOMAS = (TOMAS + " ") * 4


async def ask(
    sim: Simulator, sources: list[Any], question: str, score_threshold: float = 0.5
) -> list[dict[str, Any]]:
    """The sources indexed in a real collection, then searched for ``question``: the best 5
    at least as near as unrelated texts (0.5: a cosine of 0; CrewAI's default is 0.6)."""
    knowledge = Knowledge("compat", sources=sources, embedder=embedder(sim))
    found = await knowledge.aquery([question], score_threshold=score_threshold)
    return found


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# -- test_knowledge.py: each kind of source is indexed and found ------------------------


async def test_single_short_string(storage: Path, sim: Simulator) -> None:
    fact = "Marta's favourite colour is green and she likes Thai food."
    found = await ask(sim, [StringKnowledgeSource(content=fact, metadata=PERSONAL)],
                      "What is Marta's favourite colour?")  # fmt: skip
    assert [r["content"] for r in found] == [fact]
    assert set(found[0]) == {"id", "content", "metadata", "score"}  # CrewAI's SearchResult
    assert found[0]["metadata"] == PERSONAL
    assert 0.6 <= found[0]["score"] <= 1.0


async def test_single_2k_character_string(storage: Path, sim: Simulator) -> None:
    source = StringKnowledgeSource(content=LONG_MARTA, metadata=PERSONAL)
    assert len(LONG_MARTA) > 2000
    assert len(source.knowledge_chunks()) == 1
    found = await ask(sim, [source], "What is Marta's favourite film?")
    assert "Vertigo" in found[0]["content"]


async def test_multiple_short_strings(storage: Path, sim: Simulator) -> None:
    facts = ["Marta swims in the ocean.", "Marta has a cat named Pixel.", "Marta plays cello."]
    sources = [StringKnowledgeSource(content=f, metadata=PERSONAL) for f in facts]
    found = await ask(sim, sources, "What is the name of Marta's cat?")
    assert found[0]["content"] == "Marta has a cat named Pixel."


async def test_multiple_2k_character_strings(storage: Path, sim: Simulator) -> None:
    sources = [
        StringKnowledgeSource(content=t, metadata=PERSONAL) for t in (LONG_MARTA, LONG_TOMAS)
    ]
    found = await ask(sim, sources, "Which novel does Tomas reread each year?")
    assert "Middlemarch" in found[0]["content"]


async def test_single_short_file(storage: Path, sim: Simulator, tmp_path: Path) -> None:
    fact = "Marta's favourite sport is water polo."
    source = TextFileKnowledgeSource(file_paths=[write(tmp_path, "short.txt", fact)])
    found = await ask(sim, [source], "What sport does Marta like?")
    assert [r["content"] for r in found] == [fact]


async def test_single_2k_character_file(storage: Path, sim: Simulator, tmp_path: Path) -> None:
    path = write(tmp_path, "long.txt", LONG_MARTA)
    found = await ask(sim, [TextFileKnowledgeSource(file_paths=[path])], "Marta's favourite film?")
    assert "Vertigo" in found[0]["content"]


async def test_multiple_short_files(storage: Path, sim: Simulator, tmp_path: Path) -> None:
    items = [
        ("Marta works as a marine biologist.", {"category": "profession"}),
        ("Marta lives in Lisbon.", {"category": "city"}),
        ("Marta enjoys cooking Thai food.", {"category": "hobby"}),
    ]
    sources = [
        TextFileKnowledgeSource(file_paths=[write(tmp_path, f"f{i}.txt", text)], metadata=meta)
        for i, (text, meta) in enumerate(items)
    ]
    found = await ask(sim, sources, "Marta lives in which city?")
    assert found[0]["content"] == "Marta lives in Lisbon."
    assert found[0]["metadata"] == {"category": "city"}  # each source's metadata, kept


async def test_multiple_2k_character_files(storage: Path, sim: Simulator, tmp_path: Path) -> None:
    paths = [write(tmp_path, f"long{i}.txt", t) for i, t in enumerate((LONG_TOMAS, LONG_MARTA))]
    sources = [TextFileKnowledgeSource(file_paths=[p]) for p in paths]
    found = await ask(sim, sources, "Which novel does Tomas reread each year?")
    assert "Middlemarch" in found[0]["content"]


async def test_hybrid_string_and_files(storage: Path, sim: Simulator, tmp_path: Path) -> None:
    strings = ["Marta is learning Japanese.", "Marta visited Kyoto last spring."]
    files = ["Marta prefers tea over coffee.", "Marta's favourite book is The Leopard."]
    sources: list[BaseKnowledgeSource] = [StringKnowledgeSource(content=s) for s in strings]
    sources += [
        TextFileKnowledgeSource(file_paths=[write(tmp_path, f"h{i}.txt", text)])
        for i, text in enumerate(files)
    ]
    found = await ask(sim, sources, "What is Marta's favourite book?")
    assert found[0]["content"] == files[1]


async def test_pdf_knowledge_source(storage: Path, sim: Simulator) -> None:
    source = PDFKnowledgeSource(file_paths=[FILES / "two_pages.pdf"], metadata=PERSONAL)
    found = await ask(sim, [source], "How do you create a crew?")
    assert "crewai create crew latest-ai-development" in found[0]["content"]


async def test_csv_knowledge_source(storage: Path, sim: Simulator) -> None:
    found = await ask(sim, [CSVKnowledgeSource(file_paths=[FILES / "people.csv"])],
                      "How old is Brandon?")  # fmt: skip
    assert "Brandon 30" in found[0]["content"]


async def test_json_knowledge_source(storage: Path, sim: Simulator) -> None:
    found = await ask(sim, [JSONKnowledgeSource(file_paths=[FILES / "people.json"])],
                      "What are Brandon's tags?")  # fmt: skip
    assert "tacos" in found[0]["content"]


async def test_excel_knowledge_source(storage: Path, sim: Simulator, tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in (["Name", "Age", "City"], ["Marta", 34, "Lisbon"], ["Tomas", 41, "Bergen"]):
        sheet.append(row)
    workbook.save(tmp_path / "people.xlsx")
    source = ExcelKnowledgeSource(file_paths=[tmp_path / "people.xlsx"])
    found = await ask(sim, [source], "How old is Marta?")
    assert "Marta,34,Lisbon" in found[0]["content"]


@pytest.mark.parametrize(
    "paths",
    [["https://example.org/post/"], ["https://example.org/a/", "https://example.org/b/"]],
    ids=["test_docling_source", "test_multiple_docling_sources"],
)
def test_docling_sources_are_refused_saying_why(paths: list[str]) -> None:
    """Differs: CrewAI converts the pages with docling (torch, models fetched from the
    internet); fastcrew refuses at construction, before any I/O, naming what to use."""
    with pytest.raises(UnsupportedFeatureError, match="docling") as caught:
        CrewDoclingSource(file_paths=paths)
    assert "PDFKnowledgeSource" in str(caught.value)
    assert "TextFileKnowledgeSource" in str(caught.value)


def test_file_path_validation() -> None:
    pdf = FILES / "two_pages.pdf"
    with pytest.warns(DeprecationWarning, match="file_path"):  # CrewAI logs a warning
        assert PDFKnowledgeSource(file_path=pdf).safe_file_paths == [pdf]
    assert PDFKnowledgeSource(file_paths=[pdf]).safe_file_paths == [pdf]
    with pytest.warns(DeprecationWarning, match="file_path"):
        assert PDFKnowledgeSource(file_path=pdf, file_paths=[pdf]).safe_file_paths == [pdf]
    with pytest.raises(ValueError, match="file_path/file_paths must be a Path, str, or a list"):
        PDFKnowledgeSource()


async def test_hash_based_id_generation_without_doc_id(storage: Path, sim: Simulator) -> None:
    store = KnowledgeStorage(embedder=embedder(sim), collection_name="ids")
    docs = ["First document content", "Second document content", "Third document content"]
    await store.asave([*docs, "Same content", "Same content", "Same content"])
    records = await store.table.ascan()
    assert sorted(r.id for r in records) == sorted(
        hashlib.sha256(text.encode()).hexdigest() for text in [*docs, "Same content"]
    )  # 64 hex characters each; the repeated document stored once
    assert sim.stats()["embedding_inputs"] == 4


# -- test_knowledge_searchresult.py ------------------------------------------------------


def test_knowledge_query_returns_searchresult() -> None:
    storage = RecordingStorage()
    sources = [StringKnowledgeSource(content="AI is fascinating technology")]
    knowledge = Knowledge(collection_name="results", sources=sources, storage=storage)
    results = knowledge.query(["AI technology"], results_limit=5, score_threshold=0.3)
    # the sources were saved, then the storage searched with the query's limit and threshold
    assert storage.calls == [
        ("save", ["AI is fascinating technology"]),
        ("search", ["AI technology"], 5, None, 0.3),
    ]
    assert results == [{"content": "AI is fascinating technology", "score": 0.9, "metadata": {}}]


async def test_knowledge_query_with_empty_results(storage: Path, sim: Simulator) -> None:
    sources = [StringKnowledgeSource(content="Tomatoes grow best in warm soil.")]
    assert await ask(sim, sources, "quantum chromodynamics lecture notes", 0.6) == []


def test_extract_knowledge_context_with_searchresult() -> None:
    texts = ["Rust suits systems work", "Ocaml has modules", "Elm compiles to JavaScript"]
    context = extract_knowledge_context(
        [{"content": t, "score": 0.9, "metadata": {}} for t in texts]
    )
    assert context == "Additional Information: " + "\n".join(texts)


def test_extract_knowledge_context_with_empty_content() -> None:
    results = [{"content": "", "score": 0.5}, {"content": None, "score": 0.4}, {"score": 0.3}]
    assert extract_knowledge_context(results) == ""


def test_extract_knowledge_context_filters_invalid_results() -> None:
    results = [{"content": "Valid one"}, {"content": ""}, {"content": "Valid two"}, None,
               {"content": None}]  # fmt: skip
    assert extract_knowledge_context(results) == "Additional Information: Valid one\nValid two"


def test_knowledge_storage_exception_handling() -> None:
    knowledge = Knowledge("none", sources=[StringKnowledgeSource(content="x")])
    knowledge.storage = None
    with pytest.raises(ValueError, match="Storage is not initialized"):
        knowledge.query(["test query"])


def test_knowledge_add_sources_integration() -> None:
    storage = RecordingStorage()
    sources = [StringKnowledgeSource(content="Content one"), StringKnowledgeSource(content="Two")]
    Knowledge("add", sources=sources, storage=storage).add_sources()
    assert all(source.storage is storage for source in sources)
    assert storage.calls == [("save", ["Content one"]), ("save", ["Two"])]


def test_knowledge_reset_integration() -> None:
    storage = RecordingStorage()
    Knowledge("reset", sources=[StringKnowledgeSource(content="x")], storage=storage).reset()
    assert storage.names() == ["reset"]


def test_knowledge_reset_without_storage() -> None:
    knowledge = Knowledge("reset", sources=[StringKnowledgeSource(content="x")])
    knowledge.storage = None
    with pytest.raises(ValueError, match="Storage is not initialized"):
        knowledge.reset()
