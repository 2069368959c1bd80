"""CrewAI compatibility: unified memory, as CrewAI's own
``tests/memory/test_unified_memory.py`` pins it down (CrewAI 1.15; written for fastcrew, not
copied). Runs on the simulator (its LLM, and its ``/v1/embeddings``, in which texts sharing
words are near) with a real LanceDB store under a temporary ``$FASTCREW_STORAGE_DIR``, where
CrewAI's tests mock the LLM and the embedder; a CrewAI test that needs a given LLM answer
gets it from a scripted custom LLM (``memory_helpers.ScriptedLLM``, CrewAI's ``call``
shape). This file holds the records, the score, the LLM fallbacks and the Memory / scope /
slice API; ``test_memory_saves.py`` holds the save pipeline (batches, deduplication,
consolidation, background saves, the task's save), ``test_memory_storage.py`` the storage
tests; ``test_memory_root_scope*.py`` cover ``test_memory_root_scope.py``.

Covered (48 of 50, 10 of them deliberately different; with the files below):
``test_memory_record_defaults``, ``test_memory_match``,
``test_memory_record_embedding_excluded_from_serialization``,
``test_memory_match_embedding_excluded_from_serialization``, ``test_scope_info``,
``test_memory_remember_recall_shallow``, ``test_memory_forget``,
``test_memory_list_scopes_info_tree``, ``test_memory_scope_remember_recall``,
``test_memory_slice_recall``, ``test_memory_slice_remember_is_noop_when_read_only``,
``test_memory_extract_memories_returns_list_from_llm``,
``test_memory_extract_memories_empty_content_returns_empty_list``,
``test_memory_scope_extract_memories_delegates``,
``test_memory_slice_extract_memories_delegates``, ``test_composite_score_brand_new_memory``,
``test_composite_score_old_memory_decayed``, ``test_composite_score_reranks_results``,
``test_composite_score_match_reasons_populated``,
``test_extract_memories_llm_failure_returns_raw``, ``test_remember_survives_llm_failure``;
in ``test_memory_saves.py``: ``test_batch_embed_single_call``,
``test_intra_batch_dedup_drops_near_identical``,
``test_intra_batch_dedup_keeps_merely_similar``,
``test_batch_consolidation_deduplicates_against_storage``,
``test_parallel_find_similar_runs_all_searches`` (what it pins, each item of a batch
compared with the store, is read from the consolidation plans asked for: the store's
searches are not spied on), ``test_single_remember_uses_batch_flow``,
``test_parallel_analyze_runs_concurrent_calls``, ``test_remember_many_returns_immediately``,
``test_reset_all_blocks_new_save_submission_until_reset_completes`` (as what it guarantees:
a save running when ``reset_all`` starts is waited for and wiped, one submitted during the
reset is kept; CrewAI's private ``_submit_save`` and thread events are not reproduced),
``test_recall_drains_pending_writes``, ``test_close_drains_and_shuts_down``,
``test_executor_save_to_memory_calls_extract_then_remember_per_item`` (through a real crew
run: the extraction gets the task's ``Task / Agent / Expected result / Result`` text, each
extracted memory is saved); in ``test_memory_root_scope_crews.py``:
``test_flow_has_default_memory``, ``test_flow_recall_remember_raise_when_memory_explicitly_none``,
``test_flow_recall_remember_with_memory``,
``test_flow_extract_memories_raises_when_memory_explicitly_none``,
``test_flow_extract_memories_delegates_when_memory_present``.

Deliberately different (tested as fastcrew behaves, the test says why):
``test_memory_analysis_llm_is_isolated_from_streaming_agent_llm`` (fastcrew's analysis
calls never stream, so the agent's LLM is used as it is, not copied);
``test_memory_config`` and ``test_composite_score_custom_config`` (CrewAI's internal
``MemoryConfig`` is fastcrew's ``ScoreWeights``, or the ``Memory`` itself);
``test_memory_scope_slice`` (CrewAI reads the private ``MemoryScope._root``; fastcrew's
public ``root_scope``); ``test_analyze_for_save_llm_failure_returns_defaults`` and
``test_analyze_query_llm_failure_returns_defaults`` (fastcrew's helpers are async; a failed
query analysis suggests no scopes, as fastcrew searches the recall's scope and not
LLM-chosen ones); ``test_drain_writes_reports_background_save_failure_without_raising``
(in ``test_memory_saves.py``: no event bus, the failure is logged); in
``test_memory_storage.py``, ``test_lancedb_save_search``, ``test_lancedb_delete_count`` and
``test_lancedb_list_scopes_get_scope_info`` run on fastcrew's store (``fastcrew.vectors``),
scope listing through ``Memory``.

``test_agent_kickoff_memory_recall_and_save``: covered at the end of this file (the
simulator's answer echoes the request, so it shows the recalled memory).

Left out (1): ``test_executor_save_to_memory_skips_delegation_output`` (CrewAI's ReAct
executor skipping a final answer that is a delegation action: fastcrew delegates through
tool calls, never through a final answer's text).
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from echo_sim import echo_sim_fixture, embedder, llm, storage_fixture  # noqa: F401

from fastcrew import LLM, Agent
from fastcrew.memory import Memory, MemoryMatch, MemoryRecord
from fastcrew.memory.analyze import (
    MemoryAnalysis,
    QueryAnalysis,
    aanalyze_for_save,
    aanalyze_query,
    aextract_memories,
)
from fastcrew.memory.memory_scope import MemoryScope, MemorySlice
from fastcrew.memory.types import ScoreWeights, compute_composite_score
from fastcrew.sim import Simulator
from fastcrew.vectors import VectorRecord

from .memory_helpers import ScriptedLLM, memory, scripted_memory


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# -- records and matches ------------------------------------------------------------------------


def test_memory_record_defaults() -> None:
    r = MemoryRecord(content="hello")
    assert (r.content, r.scope, r.categories, r.importance, r.embedding) == (
        "hello", "/", [], 0.5, None,
    )  # fmt: skip
    assert r.id
    assert isinstance(r.created_at, datetime)


def test_memory_match() -> None:
    m = MemoryMatch(
        record=MemoryRecord(content="x", scope="/a"), score=0.9, match_reasons=["semantic"]
    )
    assert (m.record.content, m.score, m.match_reasons) == ("x", 0.9, ["semantic"])


def test_memory_record_embedding_excluded_from_serialization() -> None:
    r = MemoryRecord(content="hello", embedding=[0.1, 0.2, 0.3])
    assert r.embedding == [0.1, 0.2, 0.3]
    dumped = r.model_dump()
    assert "embedding" not in dumped
    assert dumped["content"] == "hello"
    text = r.model_dump_json()
    assert "embedding" not in text
    assert MemoryRecord.model_validate_json(text).embedding is None
    assert "embedding=" not in repr(r)
    assert r.embedding is not None  # kept on the object


def test_memory_match_embedding_excluded_from_serialization() -> None:
    m = MemoryMatch(record=MemoryRecord(content="x", embedding=[0.5] * 1536), score=0.9)
    dumped = m.model_dump()
    assert "embedding" not in dumped["record"]
    assert dumped["record"]["content"] == "x"
    assert dumped["score"] == 0.9


def test_scope_info() -> None:
    from fastcrew.memory.types import ScopeInfo

    i = ScopeInfo(path="/", record_count=5, categories=["c1"], child_scopes=["/a"])
    assert (i.path, i.record_count, i.categories, i.child_scopes) == ("/", 5, ["c1"], ["/a"])
    assert i.oldest_record is None
    assert i.newest_record is None


def test_memory_config() -> None:
    """Differs: CrewAI's internal ``MemoryConfig`` carries the weights; in fastcrew they
    are the ``Memory``'s fields (CrewAI's names and defaults, as in CrewAI's ``Memory``)
    and ``ScoreWeights``."""
    for config in (ScoreWeights(), Memory(llm="gpt-4o-mini")):
        assert config.recency_weight == 0.3
        assert config.semantic_weight == 0.5
        assert config.importance_weight == 0.2
        assert config.recency_half_life_days == 30


# -- the composite score ------------------------------------------------------------------------


def test_composite_score_brand_new_memory() -> None:
    record = MemoryRecord(content="test", importance=0.7, created_at=_now())
    score, reasons = compute_composite_score(record, 0.8, ScoreWeights())
    assert 0.82 <= score <= 0.86  # 0.5 * 0.8 + 0.3 * 1.0 + 0.2 * 0.7
    assert reasons == ["semantic", "recency", "importance"]


def test_composite_score_old_memory_decayed() -> None:
    record = MemoryRecord(content="old", importance=0.5, created_at=_now() - timedelta(days=60))
    score, reasons = compute_composite_score(record, 0.8, ScoreWeights(recency_half_life_days=30))
    assert 0.55 <= score <= 0.60  # decay 0.25 after two half-lives
    assert reasons == ["semantic"]


def test_composite_score_match_reasons_populated() -> None:
    fresh_high = MemoryRecord(content="x", importance=0.9, created_at=_now())
    assert compute_composite_score(fresh_high, 0.5, ScoreWeights())[1] == [
        "semantic", "recency", "importance",
    ]  # fmt: skip
    old_low = MemoryRecord(content="y", importance=0.1, created_at=_now() - timedelta(days=60))
    assert compute_composite_score(old_low, 0.5, ScoreWeights())[1] == ["semantic"]


def test_composite_score_custom_config() -> None:
    """Differs: the weights come from ``ScoreWeights`` or a ``Memory`` (CrewAI: its
    internal ``MemoryConfig``)."""
    record = MemoryRecord(content="any", importance=0.9, created_at=_now())
    for config in (
        ScoreWeights(recency_weight=0.0, semantic_weight=1.0, importance_weight=0.0),
        Memory(llm="gpt-4o-mini", recency_weight=0.0, semantic_weight=1.0, importance_weight=0.0),
    ):
        score, reasons = compute_composite_score(record, 0.73, config)
        assert math.isclose(score, 0.73, rel_tol=1e-5)
        assert "semantic" in reasons


async def test_composite_score_reranks_results(storage: Path, sim: Simulator) -> None:
    # two records with the same vector (written to the table, as CrewAI writes to its
    # storage, so that no consolidation merges them): importance and age decide
    mem = memory(sim)
    [vector] = await mem.embedder_instance.aembed(["decision"])
    now = datetime.now(UTC).timestamp()
    await mem.table.aadd(
        [
            VectorRecord("old", "Old trivial note", vector, {}, "/", now - 90 * 86400, 0.1),
            VectorRecord("high", "Important decision", vector, {}, "/", now, 1.0),
        ]
    )
    matches = await mem.arecall("decision", scope="/", limit=5, depth="shallow")
    assert [m.record.content for m in matches] == ["Important decision", "Old trivial note"]


# -- the LLM's failures --------------------------------------------------------------------------


async def test_analyze_for_save_llm_failure_returns_defaults() -> None:
    """Differs: fastcrew's helper is async (``aanalyze_for_save``)."""
    failing = ScriptedLLM(fail=RuntimeError("API rate limit"))
    result = await aanalyze_for_save("some content", ["/", "/project"], ["cat1"], failing)
    assert isinstance(result, MemoryAnalysis)
    assert (result.suggested_scope, result.categories, result.importance) == ("/", [], 0.5)
    meta = result.extracted_metadata
    assert (meta.entities, meta.dates, meta.topics) == ([], [], [])
    assert failing.asked() == ["MemoryAnalysis"]


async def test_extract_memories_llm_failure_returns_raw() -> None:
    content = "Task result: We chose PostgreSQL."
    assert await aextract_memories(content, ScriptedLLM(fail=RuntimeError("Network"))) == [content]


async def test_analyze_query_llm_failure_returns_defaults() -> None:
    """Differs: async, and a failed analysis suggests no scopes (CrewAI: the first five
    available), because fastcrew's recall searches the recall's own scope, never scopes an
    LLM chose; the query itself is searched, as in CrewAI."""
    scopes = ["/", "/project", "/team", "/company", "/other", "/extra"]
    result = await aanalyze_query("what did we decide?", scopes, ScriptedLLM(fail=TimeoutError()))
    assert isinstance(result, QueryAnalysis)
    assert result.keywords == []
    assert result.complexity == "simple"
    assert result.recall_queries == ["what did we decide?"]


async def test_remember_survives_llm_failure(storage: Path, sim: Simulator) -> None:
    failing = ScriptedLLM(fail=RuntimeError("LLM unavailable"))
    mem = scripted_memory(sim, failing)
    record = await asyncio.to_thread(mem.remember, "We decided to use PostgreSQL.")
    assert record is not None
    assert record.content == "We decided to use PostgreSQL."
    assert (record.scope, record.categories, record.importance) == ("/", [], 0.5)
    assert failing.asked() == ["MemoryAnalysis"]
    assert await asyncio.to_thread(mem.table.count) == 1


async def test_memory_analysis_llm_is_isolated_from_streaming_agent_llm(
    storage: Path, sim: Simulator
) -> None:
    """Differs: CrewAI copies a streaming agent LLM into a non-streaming one for its
    analysis; fastcrew's analysis is one non-streamed structured call whatever the LLM's
    ``stream``, so the LLM is used as it is and left unchanged."""
    agent_llm = LLM("openai/sim-model", base_url=sim.base_url, api_key="k", stream=True)
    mem = Memory(llm=agent_llm, embedder=embedder(sim))
    record = await mem.aremember("The vault access code is ORCHID-4417.")  # analysed
    assert record is not None
    assert record.categories  # the structured answer was read
    assert sim.stats()["requests_total"] == 1
    assert mem.llm_instance is agent_llm
    assert agent_llm.stream is True


# -- remember, recall, forget, views ------------------------------------------------------------


async def test_memory_remember_recall_shallow(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)

    def run() -> None:
        r = mem.remember(
            "We decided to use Python.", scope="/project", categories=["decision"], importance=0.7
        )
        assert r is not None
        assert (r.content, r.scope) == ("We decided to use Python.", "/project")
        matches = mem.recall("Python decision", scope="/project", limit=5, depth="shallow")
        assert matches
        assert "python" in matches[0].record.content.lower()

    await asyncio.to_thread(run)
    assert sim.stats()["requests_total"] == 0  # every field given: the LLM is not asked


async def test_memory_forget(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)

    def run() -> None:
        mem.remember("To forget", scope="/x", categories=[], importance=0.5, metadata={})
        assert mem.table.count(scope_prefix="/x") == 1
        assert mem.forget(scope="/x") == 1
        assert mem.table.count(scope_prefix="/x") == 0

    await asyncio.to_thread(run)


def test_memory_scope_slice(storage: Path) -> None:
    """Differs: CrewAI checks the private ``MemoryScope._root``; fastcrew's path is the
    public ``root_scope``."""
    mem = Memory(llm="gpt-4o-mini")
    sc = mem.scope("/agent/1")
    assert isinstance(sc, MemoryScope)
    assert sc.root_scope == "/agent/1"
    sl = mem.slice(["/a", "/b"], read_only=True)
    assert isinstance(sl, MemorySlice)
    assert sl.read_only is True
    assert "/a" in sl.scopes
    assert "/b" in sl.scopes
    assert not storage.exists()  # views do no I/O


async def test_memory_list_scopes_info_tree(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)

    def run() -> None:
        mem.remember("Root", scope="/", categories=[], importance=0.5, metadata={})
        mem.remember("Team note", scope="/team", categories=[], importance=0.5, metadata={})
        assert mem.list_scopes("/") == ["/team"]  # the children, not the root itself
        info = mem.info("/")
        assert info.path == "/"
        assert info.record_count == 2  # CrewAI counts the subscopes' records too
        assert info.child_scopes == ["/team"]
        tree = mem.tree("/", max_depth=2)
        assert tree.splitlines() == ["/ (2 records)", "  /team (1 records)"]

    await asyncio.to_thread(run)


async def test_memory_scope_remember_recall(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)
    scope = MemoryScope(memory=mem, root_path="/crew/1")

    def run() -> None:
        record = scope.remember("Scoped note", scope="/", categories=[], importance=0.5)
        assert record is not None
        assert record.scope == "/crew/1"
        results = scope.recall("note", limit=5, depth="shallow")
        assert [m.record.content for m in results] == ["Scoped note"]

    await asyncio.to_thread(run)


async def test_memory_slice_recall(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)
    sl = MemorySlice(memory=mem, scopes=["/a"], read_only=True)

    def run() -> None:
        mem.remember("In scope A", scope="/a", categories=[], importance=0.5, metadata={})
        mem.remember("In scope B", scope="/b", categories=[], importance=0.5, metadata={})
        matches = sl.recall("scope", limit=5, depth="shallow")
        assert [m.record.content for m in matches] == ["In scope A"]

    await asyncio.to_thread(run)


async def test_memory_slice_remember_is_noop_when_read_only(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)
    sl = MemorySlice(memory=mem, scopes=["/a"], read_only=True)

    def run() -> None:
        assert sl.remember("x", scope="/a") is None
        assert mem.list_records() == []

    await asyncio.to_thread(run)
    assert sim.stats()["requests_total"] == 0


# -- extract_memories ----------------------------------------------------------------------------

FACTS = ["We use Python for the backend.", "API rate limit is 100/min."]


async def test_memory_extract_memories_returns_list_from_llm(storage: Path, sim: Simulator) -> None:
    scripted = ScriptedLLM(ExtractedMemories={"memories": FACTS})
    mem = scripted_memory(sim, scripted)
    content = "Task: Build API. Result: We used Python and set rate limit 100/min."
    assert await asyncio.to_thread(mem.extract_memories, content) == FACTS
    assert scripted.asked() == ["ExtractedMemories"]  # one call, for that response model
    assert content in scripted.prompt("ExtractedMemories")
    assert not storage.exists()  # noqa: ASYNC240 - saves nothing


async def test_memory_extract_memories_empty_content_returns_empty_list(
    storage: Path, sim: Simulator
) -> None:
    scripted = ScriptedLLM(ExtractedMemories={"memories": FACTS})
    mem = scripted_memory(sim, scripted)
    assert await asyncio.to_thread(mem.extract_memories, "") == []
    assert await asyncio.to_thread(mem.extract_memories, "   \n  ") == []
    assert scripted.calls == []


async def test_memory_scope_extract_memories_delegates(storage: Path, sim: Simulator) -> None:
    scripted = ScriptedLLM(ExtractedMemories={"memories": ["Scoped fact."]})
    scope = MemoryScope(memory=scripted_memory(sim, scripted), root_path="/agent/1")
    assert await asyncio.to_thread(scope.extract_memories, "Some content") == ["Scoped fact."]
    assert "Some content" in scripted.prompt("ExtractedMemories")


async def test_memory_slice_extract_memories_delegates(storage: Path, sim: Simulator) -> None:
    scripted = ScriptedLLM(ExtractedMemories={"memories": ["Sliced fact."]})
    sl = MemorySlice(memory=scripted_memory(sim, scripted), scopes=["/a", "/b"], read_only=True)
    assert await asyncio.to_thread(sl.extract_memories, "Some content") == ["Sliced fact."]
    assert "Some content" in scripted.prompt("ExtractedMemories")


async def test_agent_kickoff_memory_recall_and_save(storage: Path, sim: Simulator) -> None:
    scripted = ScriptedLLM(ExtractedMemories={"memories": ["PostgreSQL is used."]})
    mem = scripted_memory(sim, scripted)
    await mem.aremember("The team uses PostgreSQL.", scope="/", categories=["database"],
                        importance=0.8)  # fmt: skip
    agent = Agent(role="Tester", goal="Test memory integration", backstory="You test things.",
                  llm=llm(sim), memory=mem)  # fmt: skip
    result = await agent.akickoff("What database do we use?")
    assert result.raw
    assert "The team uses PostgreSQL." in result.raw  # recalled into the request (echoed)
    assert scripted.asked("ExtractedMemories") == ["ExtractedMemories"]
    extracted_from = scripted.prompt("ExtractedMemories")
    assert "Input:" in extracted_from
    assert "What database do we use?" in extracted_from
    assert "Tester" in extracted_from
    contents = [r.content for r in await mem.alist_records(limit=100)]
    assert "PostgreSQL is used." in contents
