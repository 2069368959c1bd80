"""``Memory`` on its own: saves, recalls, the score's order, scopes, forgetting."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastcrew.memory import Memory, MemoryMatch, MemoryRecord
from fastcrew.memory.memory_scope import MemoryScope, MemorySlice
from fastcrew.memory.scopes import join_scope_paths, normalize_scope_path, sanitize_scope_name
from fastcrew.memory.types import ScoreWeights, composite_score, similarity_from_cosine
from fastcrew.memory.unified_memory import Memory as AtCrewAIsPath
from fastcrew.sim import Simulator

from .conftest import memory

ORCHID = "The vault access code is ORCHID-4417."
TOMATO = "Tomatoes grow best in warm garden soil with daily watering."


def test_import_paths_and_no_io_at_construction(storage: Path) -> None:
    assert AtCrewAIsPath is Memory
    Memory(llm="gpt-4o-mini", embedder=None)
    assert not storage.exists()


def test_scope_paths() -> None:
    assert sanitize_scope_name("Research Crew") == "research-crew"
    assert sanitize_scope_name("Agent #1 (Main)") == "agent-1-main"
    assert sanitize_scope_name("") == "unknown"
    assert normalize_scope_path("crew/x//agent/") == "/crew/x/agent"
    assert join_scope_paths("/crew/x", "notes") == "/crew/x/notes"
    assert join_scope_paths(None, "/") == "/"


def test_score_weights_as_crewai() -> None:
    weights = ScoreWeights()
    now = datetime.now(UTC).replace(tzinfo=None)
    fresh = MemoryRecord(content="a", importance=0.5, created_at=now)
    score, reasons = composite_score(fresh, 1.0, weights, now)
    assert score == 0.5 * 1.0 + 0.3 * 1.0 + 0.2 * 0.5
    assert reasons == ["semantic", "recency"]
    month_old = MemoryRecord(content="a", importance=0.9, created_at=now - timedelta(days=30))
    score, reasons = composite_score(month_old, 0.0, weights, now)
    assert abs(score - (0.3 * 0.5 + 0.2 * 0.9)) < 1e-9
    assert reasons == ["semantic", "importance"]  # decay exactly 0.5 is not "recency"
    assert similarity_from_cosine(1.0) == 1.0
    assert abs(similarity_from_cosine(0.0) - 1 / 3) < 1e-12
    match = MemoryMatch(record=MemoryRecord(content="x", categories=["a", "b"]), score=0.834)
    assert match.format() == "- (score=0.83) x\n  categories: a, b"


async def test_remember_and_recall(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)
    saved = await mem.aremember(ORCHID, scope="/facts", categories=["security"], importance=0.8)
    assert saved is not None
    assert saved.scope == "/facts"
    await mem.aremember(TOMATO, scope="/garden", categories=["garden"], importance=0.5)
    assert sim.stats()["requests_total"] == 0  # every field given: no analysis
    found = await mem.arecall("What is the vault access code?")
    assert next(m.record.content for m in found) == ORCHID
    assert found[0].record.categories == ["security"]
    assert found[0].record.importance == 0.8
    assert "importance" in found[0].match_reasons
    # a scope keeps to itself; categories filter
    assert [m.record.content for m in await mem.arecall("vault code", scope="/garden")] == [TOMATO]
    assert await mem.arecall("vault code", categories=["nothing"]) == []
    # the same text in the same scope is one record
    await mem.aremember(ORCHID, scope="/facts", categories=["security"], importance=0.8)
    assert await mem.table.acount() == 2


async def test_importance_and_recency_change_the_order(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)
    low = "Project falcon budget memo number one."
    high = "Project falcon budget memo number two."
    await mem.aremember(low, scope="/", categories=[], importance=0.0)
    await mem.aremember(high, scope="/", categories=[], importance=1.0)
    found = await mem.arecall("Project falcon budget memo")
    assert [m.record.content for m in found] == [high, low]  # similar: importance decides
    # recency: the same importance, one record 90 days old (written straight to the table)
    from fastcrew.vectors import VectorRecord

    old, new = "Harbor tide report alpha.", "Harbor tide report beta."
    [v_old, v_new] = await mem.embedder_instance.aembed([old, new])
    stamp = datetime.now(UTC).timestamp()
    await mem.table.aadd(
        [
            VectorRecord("old", old, v_old, {}, scope="/tides", created_at=stamp - 90 * 86400),
            VectorRecord("new", new, v_new, {}, scope="/tides", created_at=stamp),
        ]
    )
    found = await mem.arecall("Harbor tide report", scope="/tides")
    assert [m.record.id for m in found] == ["new", "old"]
    assert found[0].score - found[1].score > 0.3 * (1 - 0.5**3) - 0.1


async def test_an_analysed_save(storage: Path, sim: Simulator) -> None:
    mem = memory(sim, root_scope="/crew/test")
    record = await mem.aremember(ORCHID)  # no importance / categories / scope: analysed
    assert record is not None
    assert sim.stats()["requests_total"] == 1
    assert record.scope.startswith("/crew/test/")  # the suggested scope, under the root
    assert 0.0 <= record.importance <= 1.0
    assert record.categories
    assert all(isinstance(c, str) for c in record.categories)
    [match] = await mem.arecall("vault access code")
    assert match.record.id == record.id
    # the analysis failing (no server) keeps the memory with CrewAI's defaults
    from fastcrew import LLM
    from fastcrew.limits import RetryPolicy

    down = LLM(
        "openai/x", base_url="http://127.0.0.1:9", api_key="k", retry=RetryPolicy(max_attempts=1)
    )
    broken = Memory(llm=down, embedder=mem.embedder_instance)
    kept = await broken.aremember(TOMATO)
    assert kept is not None
    assert kept.scope == "/"
    assert kept.importance == 0.5


async def test_forget_scope_and_slice(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)
    facts = mem.scope("/facts")
    assert isinstance(facts, MemoryScope)
    await facts.aremember(ORCHID, scope="/", categories=["security"], importance=0.7)
    await facts.aremember(TOMATO, scope="/sub", categories=["garden"], importance=0.7)
    await mem.aremember(
        "Unrelated note about trains.", scope="/other", categories=[], importance=0.5
    )
    assert {m.record.scope for m in await facts.arecall("code")} == {"/facts", "/facts/sub"}
    both = mem.slice(["/facts/sub", "/other"])
    assert isinstance(both, MemorySlice)
    assert {m.record.scope for m in await both.arecall("anything")} == {"/facts/sub", "/other"}
    assert await both.aremember("read only") is None
    assert await mem.aforget(scope="/facts", categories=["garden"]) == 1
    assert await facts.aforget() == 1
    assert await mem.table.acount() == 1
    [left] = await mem.arecall("trains")
    assert await mem.aforget(record_ids=[left.record.id]) == 1
    await mem.aremember("x y z", scope="/", categories=[], importance=0.1)
    await mem.areset()
    assert await mem.table.acount() == 0


async def test_sync_twins(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)

    def sync() -> None:  # in a thread: the simulator serves on this test's loop
        mem.remember(ORCHID, "/s", ["c"], importance=0.6)  # CrewAI's positional order
        assert mem.recall("vault code")[0].record.content == ORCHID
        assert mem.forget(scope="/s") == 1

    await asyncio.to_thread(sync)


async def test_a_long_query_is_distilled_first(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)
    await mem.aremember(ORCHID, scope="/facts", categories=[], importance=0.5)
    long_query = "Please find the vault access code. " * 8  # over 200 characters
    assert len(long_query) >= mem.query_analysis_threshold
    assert await mem.arecall(long_query, depth="shallow")
    assert sim.stats()["requests_total"] == 0  # shallow: searched as it is
    assert await mem.arecall("vault access code?")  # short: no analysis either
    assert sim.stats()["requests_total"] == 0
    [match] = await mem.arecall(long_query)  # deep (default): one analysis call
    assert match.record.content == ORCHID
    assert sim.stats()["requests_total"] == 1
