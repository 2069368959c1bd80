"""CrewAI compatibility: memory's root scope, as CrewAI's ``tests/memory/test_memory_root_scope.py``
pins it down (CrewAI 1.15; written for fastcrew, not copied): scope path helpers, a
``Memory``'s ``root_scope`` nesting every save and bounding every read, and the root scopes
crews, agents and flows give their memories. Runs on the simulator with real LanceDB (CrewAI
mocks the LLM and the embedder); where CrewAI's mocked LLM answers an analysis, a scripted
custom LLM answers it. This file holds the helpers and ``Memory``'s root scope; the crews,
agents, flows and consolidation's boundary are in ``test_memory_root_scope_crews.py``.

Covered (all 63, with that file): ``TestSanitizeScopeName`` (11), ``TestNormalizeScopePath``
(7), ``TestJoinScopePaths`` (9), ``TestMemoryRootScope`` (6),
``TestRootScopePathNormalization`` (3), ``TestEncodingFlowRootScope`` (2: the fast path and
the LLM path of a save under a root, through ``remember``; CrewAI builds its private
``ItemState``), ``TestMemoryScopeWithRootScope`` (1), ``TestReadIsolation`` (7),
``TestBackwardCompatibility`` (2 of 3); in ``test_memory_root_scope_crews.py``:
``TestCrewAutoScoping`` (5), ``TestBackwardCompatibility.test_crew_without_name_uses_default``,
``TestAgentScopeExtension`` (2),
``TestAgentExecutorBackwardCompat`` (2), ``TestConsolidationIsolation`` (2: through saves,
as which stored memories a consolidation plan is asked about; CrewAI runs its private
``EncodingFlow.parallel_find_similar`` on a mocked storage), ``TestFlowAutoScoping`` (3).
CrewAI's executor tests (``_save_to_memory`` with mocks) are run as real crew runs: the
root scope a save lands under is read from the saved records.

Deliberately different (1): ``test_crew_memory_true_prefers_chat_llm`` (``Crew.chat_llm`` is
accepted and ignored, as ``crewai chat`` is not supported; the crew's memory uses the first
agent's LLM).

Left out: none.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from echo_sim import echo_sim_fixture, storage_fixture  # noqa: F401

from fastcrew.memory.memory_scope import MemoryScope
from fastcrew.memory.scopes import join_scope_paths, normalize_scope_path, sanitize_scope_name
from fastcrew.sim import Simulator

from .memory_helpers import ScriptedLLM, analysis, memory, scripted_memory

X = {"categories": ["x"], "importance": 0.5}
T = {"categories": ["test"], "importance": 0.7}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("research", "research"),
        ("Research Crew", "research-crew"),
        ("Agent #1 (Main)", "agent-1-main"),
        ("café_worker", "caf-_worker"),
        ("test_agent", "test_agent"),
        ("my-crew", "my-crew"),
        ("foo   bar", "foo-bar"),
        ("  crew  ", "crew"),
        ("", "unknown"),
        ("@#$%", "unknown"),
        (None, "unknown"),
    ],
    ids=[
        "test_simple_name",
        "test_name_with_spaces",
        "test_name_with_special_chars",
        "test_name_with_unicode",
        "test_name_with_underscores",
        "test_name_with_hyphens",
        "test_multiple_spaces_collapsed",
        "test_leading_trailing_spaces",
        "test_empty_string_returns_unknown",
        "test_only_special_chars_returns_unknown",
        "test_none_input_returns_unknown",
    ],
)
def test_sanitize_scope_name(name: str | None, expected: str) -> None:
    assert sanitize_scope_name(name) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/crew/test", "/crew/test"),
        ("/crew//test//agent", "/crew/test/agent"),
        ("/crew/test/", "/crew/test"),
        ("crew/test", "/crew/test"),
        ("", "/"),
        ("/", "/"),
        ("/crew///", "/crew"),
    ],
    ids=[
        "test_simple_path",
        "test_double_slashes_collapsed",
        "test_trailing_slash_removed",
        "test_missing_leading_slash_added",
        "test_empty_string_returns_root",
        "test_root_only_returns_root",
        "test_multiple_trailing_slashes",
    ],
)
def test_normalize_scope_path(path: str, expected: str) -> None:
    assert normalize_scope_path(path) == expected


@pytest.mark.parametrize(
    ("root", "inner", "expected"),
    [
        ("/crew/test", "/market-trends", "/crew/test/market-trends"),
        ("/crew/test", "market-trends", "/crew/test/market-trends"),
        ("/crew/test/", "/inner", "/crew/test/inner"),
        ("/crew/test", "/", "/crew/test"),
        ("/crew/test", None, "/crew/test"),
        (None, "/market-trends", "/market-trends"),
        (None, None, "/"),
        ("", "", "/"),
        ("", "inner", "/inner"),
    ],
    ids=[
        "test_basic_join",
        "test_inner_without_leading_slash",
        "test_root_with_trailing_slash",
        "test_root_only_inner_slash",
        "test_root_only_inner_none",
        "test_no_root_with_inner",
        "test_both_none",
        "test_empty_strings",
        "test_root_empty_inner_value",
    ],
)
def test_join_scope_paths(root: str | None, inner: str | None, expected: str) -> None:
    assert join_scope_paths(root, inner) == expected


# -- TestMemoryRootScope ------------------------------------------------------------------------


async def test_memory_with_root_scope_prepends_to_explicit_scope(
    storage: Path, sim: Simulator
) -> None:
    mem = memory(sim, root_scope="/crew/research-crew")
    record = await asyncio.to_thread(mem.remember, "Test content", scope="/market-trends", **T)
    assert record is not None
    assert record.scope == "/crew/research-crew/market-trends"


async def test_memory_without_root_scope_uses_explicit_scope_directly(
    storage: Path, sim: Simulator
) -> None:
    mem = memory(sim)
    record = await asyncio.to_thread(mem.remember, "Test content", scope="/explicit", **T)
    assert record is not None
    assert record.scope == "/explicit"


@pytest.mark.parametrize(
    ("root", "inferred"),
    [
        ("/flow/mypipeline", "/quarterly-results"),
        ("/flow/pipeline", "/llm-inferred"),
    ],
    ids=[
        "test_memory_root_scope_with_llm_inferred_scope",
        "test_encoding_flow_llm_path_with_root_scope",
    ],
)
async def test_memory_root_scope_with_llm_inferred_scope(
    storage: Path, sim: Simulator, root: str, inferred: str
) -> None:
    scripted = ScriptedLLM(MemoryAnalysis=analysis(inferred, ["finance"], 0.8))
    mem = scripted_memory(sim, scripted, root_scope=root)
    record = await asyncio.to_thread(mem.remember, "Q1 revenue was $1M")  # the LLM infers
    assert record is not None
    assert record.scope == root + inferred
    assert (record.categories, record.importance) == (["finance"], 0.8)
    assert scripted.asked() == ["MemoryAnalysis"]


async def test_memory_root_scope_per_call_override(storage: Path, sim: Simulator) -> None:
    mem = memory(sim, root_scope="/crew/base")
    record = await asyncio.to_thread(
        lambda: mem.remember("Test content", scope="/inner", root_scope="/override/path", **T)
    )
    assert record is not None
    assert record.scope == "/override/path/inner"


async def test_remember_many_with_root_scope(storage: Path, sim: Simulator) -> None:
    mem = memory(sim, root_scope="/crew/batch-crew")

    def run() -> None:
        mem.remember_many(["Fact A", "Fact B"], scope="/decisions", **T)
        mem.drain_writes()
        records = mem.list_records()
        assert sorted(r.content for r in records) == ["Fact A", "Fact B"]
        assert {r.scope for r in records} == {"/crew/batch-crew/decisions"}

    await asyncio.to_thread(run)


async def test_remember_many_per_call_root_scope_override(storage: Path, sim: Simulator) -> None:
    mem = memory(sim, root_scope="/default")

    def run() -> None:
        mem.remember_many(["Fact A"], scope="/inner", root_scope="/agent/researcher", **T)
        mem.drain_writes()
        [record] = memory(sim).list_records()  # a memory without a root sees every record
        assert record.scope == "/agent/researcher/inner"

    await asyncio.to_thread(run)


# -- TestRootScopePathNormalization, TestEncodingFlowRootScope's fast path ----------------------


@pytest.mark.parametrize(
    ("root", "scope", "expected"),
    [
        ("/crew/test/", "/inner/", "/crew/test/inner"),
        ("crew/test", "inner", "/crew/test/inner"),
        ("/crew/test", "/", "/crew/test"),
        ("/crew/test", "/inner", "/crew/test/inner"),
    ],
    ids=[
        "test_no_double_slashes_in_result",
        "test_leading_slash_always_present",
        "test_root_scope_with_root_inner_scope",
        "test_encoding_flow_fast_path_with_root_scope",
    ],
)
async def test_root_scope_path_normalization(
    storage: Path, sim: Simulator, root: str, scope: str, expected: str
) -> None:
    mem = memory(sim, root_scope=root)
    record = await asyncio.to_thread(lambda: mem.remember("Test", scope=scope, **X))
    assert record is not None
    assert record.scope == expected
    assert sim.stats()["requests_total"] == 0  # every field given: no LLM call


# -- TestMemoryScopeWithRootScope, TestBackwardCompatibility ------------------------------------


async def test_memory_scope_remembers_within_root_scope(storage: Path, sim: Simulator) -> None:
    mem = memory(sim, root_scope="/crew/test")
    scope = MemoryScope(memory=mem, root_path="/agent/1")
    record = await asyncio.to_thread(lambda: scope.remember("Scoped content", scope="/task", **X))
    assert record is not None
    # the memory's root, then the view's path, then the scope (CrewAI 1.15.30 gives this)
    assert record.scope == "/crew/test/agent/1/task"


async def test_memory_without_root_scope_works_normally(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)
    assert mem.root_scope is None
    record = await asyncio.to_thread(mem.remember, "Test content", scope="/explicit", **T)
    assert record is not None
    assert record.scope == "/explicit"


async def test_old_memories_at_root_still_accessible(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)

    def run() -> None:
        record = mem.remember("Old memory at root", scope="/", categories=["old"], importance=0.5)
        assert record is not None
        assert record.scope == "/"
        matches = mem.recall("Old memory", scope="/", depth="shallow")
        assert [m.record.content for m in matches] == ["Old memory at root"]

    await asyncio.to_thread(run)


# -- TestReadIsolation ---------------------------------------------------------------------------


async def test_recall_with_root_scope_only_returns_scoped_records(
    storage: Path, sim: Simulator
) -> None:
    glob, scoped = memory(sim), memory(sim, root_scope="/crew/crew-a")

    def run() -> None:
        glob.remember("Global record", scope="/other/scope", categories=["global"], importance=0.5)
        glob.remember("Crew A record", scope="/crew/crew-a/inner", **X)
        glob.remember("Crew B record", scope="/crew/crew-b/inner", **X)
        [match] = scoped.recall("record", depth="shallow")
        assert match.record.scope == "/crew/crew-a/inner"

    await asyncio.to_thread(run)


async def test_recall_with_root_scope_and_explicit_scope_nests(
    storage: Path, sim: Simulator
) -> None:
    mem = memory(sim, root_scope="/crew/test")

    def run() -> None:
        mem.remember("Nested record", scope="/inner/deep", **X)
        mem.remember("Elsewhere record", scope="/other", **X)
        [match] = mem.recall("record", scope="/inner", depth="shallow")
        assert match.record.scope == "/crew/test/inner/deep"

    await asyncio.to_thread(run)


async def test_recall_without_root_scope_works_globally(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)

    def run() -> None:
        mem.remember("Record A", scope="/scope-a", **X)
        mem.remember("Record B", scope="/scope-b", **X)
        assert len(mem.recall("record", depth="shallow")) == 2

    await asyncio.to_thread(run)


async def test_list_records_defaults_to_root_scope(storage: Path, sim: Simulator) -> None:
    glob, scoped = memory(sim), memory(sim, root_scope="/crew/a")

    def run() -> None:
        glob.remember("Global", scope="/other", **X)
        glob.remember("Scoped", scope="/crew/a/inner", **X)
        assert [r.scope for r in scoped.list_records()] == ["/crew/a/inner"]

    await asyncio.to_thread(run)


async def test_list_scopes_defaults_to_root_scope(storage: Path, sim: Simulator) -> None:
    glob, scoped = memory(sim), memory(sim, root_scope="/crew/a")

    def run() -> None:
        glob.remember("A", scope="/crew/a/child1", **X)
        glob.remember("B", scope="/crew/a/child2", **X)
        glob.remember("C", scope="/crew/b/other", **X)
        assert scoped.list_scopes() == ["/crew/a/child1", "/crew/a/child2"]

    await asyncio.to_thread(run)


async def test_info_defaults_to_root_scope(storage: Path, sim: Simulator) -> None:
    glob, scoped = memory(sim), memory(sim, root_scope="/crew/a")

    def run() -> None:
        glob.remember("A", scope="/crew/a/inner", **X)
        glob.remember("B", scope="/other/inner", **X)
        assert scoped.info().record_count == 1

    await asyncio.to_thread(run)


async def test_reset_with_root_scope_only_deletes_scoped_records(
    storage: Path, sim: Simulator
) -> None:
    glob, scoped = memory(sim), memory(sim, root_scope="/crew/a")

    def run() -> None:
        glob.remember("A", scope="/crew/a/inner", **X)
        glob.remember("B", scope="/other/inner", **X)
        scoped.reset()
        [record] = memory(sim).list_records()  # a fresh memory on the same store
        assert record.scope == "/other/inner"

    await asyncio.to_thread(run)
