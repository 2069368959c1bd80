"""CrewAI compatibility: memory's save pipeline, as CrewAI's
``tests/memory/test_unified_memory.py`` pins it down — one embedding request per batch,
near-exact repeats dropped, each item compared with the store and consolidated by the LLM's
keep / update / delete plan, ``remember_many`` saving in the background (``recall``,
``drain_writes``, ``close`` and ``reset_all`` wait for it), and the save after a task. The
list of what is covered, different and left out is in ``test_memory.py``'s docstring.

The simulator's embeddings depend on the lower-cased words alone (stop words dropped), so
``"CrewAI is great."`` and ``"crewai great!"`` have one vector: CrewAI's tests get such
"identical embeddings" from a mocked embedder. Where CrewAI's mocked LLM answers a
consolidation plan or an analysis, a scripted custom LLM answers it here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from echo_sim import echo_sim_fixture, embedder, storage_fixture  # noqa: F401

from fastcrew.memory import Memory
from fastcrew.sim import Simulator
from fastcrew.vectors import VectorRecord

from .memory_helpers import ScriptedLLM, analysis, memory, run_one_task, scripted_memory

FIELDS = {"scope": "/test", "categories": ["test"], "importance": 0.5}


def _contents(mem: Memory) -> list[str]:
    return sorted(r.content for r in mem.list_records())


async def test_batch_embed_single_call(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)

    def run() -> None:
        assert mem.remember_many(["Fact A.", "Fact B.", "Fact C."], **FIELDS) == []
        mem.drain_writes()

    await asyncio.to_thread(run)
    stats = sim.stats()
    assert stats["embedding_requests"] == 1  # the three texts in one request
    assert stats["embedding_inputs"] == 3
    assert stats["requests_total"] == 0  # every field given, nothing similar: no LLM call
    assert await asyncio.to_thread(mem.table.count) == 3


async def test_intra_batch_dedup_drops_near_identical(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)
    same = "CrewAI ensures reliable operation."
    # near-identical texts: one vector (cosine 1.0 >= batch_dedup_threshold 0.98)
    near = ["CrewAI ensures reliable operation!", "crewai ensures reliable operation"]

    def run() -> None:
        mem.remember_many([same, same, same], scope="/test", categories=["r"], importance=0.7)
        mem.drain_writes()
        assert mem.table.count() == 1
        mem.remember_many([same, *near], scope="/other", categories=["r"], importance=0.7)
        mem.drain_writes()
        assert [r.content for r in mem.list_records("/other")] == [same]  # the first is kept

    await asyncio.to_thread(run)
    assert sim.stats()["requests_total"] == 0


async def test_intra_batch_dedup_keeps_merely_similar(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)
    distinct = ["CrewAI handles complex tasks.", "Python is the best language."]
    similar = ["CrewAI handles complex tasks well.", "CrewAI handles simple tasks."]

    def run() -> None:
        mem.remember_many(distinct, scope="/test", categories=["tech"], importance=0.6)
        mem.drain_writes()
        assert mem.table.count() == 2
        mem.remember_many(similar, scope="/similar", categories=["tech"], importance=0.6)
        mem.drain_writes()
        assert _contents(mem) == sorted(distinct + similar)

    await asyncio.to_thread(run)


async def test_batch_consolidation_deduplicates_against_storage(
    storage: Path, sim: Simulator
) -> None:
    scripted = ScriptedLLM(
        ConsolidationPlan={"actions": [], "insert_new": False, "insert_reason": "duplicate"}
    )
    mem = scripted_memory(sim, scripted)
    review = {"scope": "/test", "categories": ["review"], "importance": 0.7}

    def run() -> None:
        mem.remember("CrewAI is great.", **review)  # nothing similar stored: no LLM call
        assert scripted.calls == []
        # all three share one vector: the batch keeps its first, which is compared with
        # the stored record; the plan says not to insert it
        mem.remember_many(["CrewAI is great!", "crewai is GREAT"], **review)
        mem.drain_writes()
        assert _contents(mem) == ["CrewAI is great."]

    await asyncio.to_thread(run)
    assert scripted.asked() == ["ConsolidationPlan"]
    assert "CrewAI is great." in scripted.prompt("ConsolidationPlan")


async def test_parallel_find_similar_runs_all_searches(storage: Path, sim: Simulator) -> None:
    # each item of a batch is compared with the store: two of the three have a stored twin,
    # so two consolidation plans are asked for (CrewAI spies on its storage's searches)
    scripted = ScriptedLLM(ConsolidationPlan={"actions": [], "insert_new": True})
    mem = scripted_memory(sim, scripted)

    def run() -> None:
        mem.remember("Alpha fact one.", **FIELDS)
        mem.remember("Beta fact two.", **FIELDS)
        assert scripted.calls == []
        mem.remember_many(["alpha fact one", "Beta fact two!", "Gamma fact three."], **FIELDS)
        mem.drain_writes()
        assert mem.table.count() == 5  # insert_new: each is saved too

    await asyncio.to_thread(run)
    assert scripted.asked() == ["ConsolidationPlan", "ConsolidationPlan"]
    prompts = [str(m) for _, m in scripted.calls]  # one plan per new content with a twin
    assert sum("alpha fact one" in p for p in prompts) == 1
    assert sum("Beta fact two!" in p for p in prompts) == 1
    assert not any("Gamma" in p for p in prompts)


async def test_single_remember_uses_batch_flow(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)

    def run() -> None:
        record = mem.remember(
            "Single fact.", scope="/project", categories=["decision"], importance=0.8
        )
        assert record is not None
        assert (record.content, record.scope, record.importance) == (
            "Single fact.", "/project", 0.8,
        )  # fmt: skip
        assert mem.table.count() == 1

    await asyncio.to_thread(run)


async def test_parallel_analyze_runs_concurrent_calls(storage: Path, sim: Simulator) -> None:
    scripted = ScriptedLLM(MemoryAnalysis=analysis("/inferred", ["auto"], 0.6))
    mem = scripted_memory(sim, scripted)

    def run() -> None:
        mem.remember_many(["Fact A.", "Fact B.", "Fact C."])  # no fields: each is analysed
        mem.drain_writes()

    await asyncio.to_thread(run)
    assert scripted.asked() == ["MemoryAnalysis"] * 3
    records = await asyncio.to_thread(mem.list_records)
    assert len(records) == 3
    assert {(r.scope, tuple(r.categories), r.importance) for r in records} == {
        ("/inferred", ("auto",), 0.6)
    }


async def test_remember_many_returns_immediately(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)

    def run() -> None:
        assert mem.remember_many(["Fact A.", "Fact B."], **FIELDS) == []
        mem.drain_writes()
        assert mem.table.count() == 2

    await asyncio.to_thread(run)


class _GatedLLM:
    """An async custom LLM whose analysis waits until ``gate`` opens."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    async def acall(self, messages: Any, response_model: Any = None, **_: Any) -> Any:
        await asyncio.to_thread(self.gate.wait, 30)
        return analysis("/test", ["test"], 0.5)


async def test_reset_all_blocks_new_save_submission_until_reset_completes(
    storage: Path, sim: Simulator
) -> None:
    """What CrewAI's thread-level test guarantees, without its private ``_submit_save``: a
    save still running when ``reset_all`` starts is waited for (and wiped by the reset); a
    save submitted while the reset runs is kept. The running save is held in its LLM
    analysis; ``reset_all`` is given half a second to show it does not finish meanwhile
    (and the save submitted after it, time to be written, were nothing holding it back)."""
    gated = _GatedLLM()
    mem = Memory(llm=gated, embedder=embedder(sim), root_scope="/crew/test")
    await mem.aremember("Stored before.", **FIELDS)
    await mem.aremember_many(["Pending before the reset."])  # analysed: held at the gate
    reset = asyncio.create_task(mem.areset_all())
    during = asyncio.create_task(mem.aremember_many(["Submitted during it."], **FIELDS))
    done, _ = await asyncio.wait({reset}, timeout=0.5)  # the second save has time to land
    assert not done, "reset_all finished while a save submitted before it was still running"
    gated.gate.set()
    await asyncio.gather(reset, during)
    await mem.adrain_writes()
    assert [r.content for r in await mem.alist_records()] == ["Submitted during it."]


async def test_recall_drains_pending_writes(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)

    def run() -> None:
        mem.remember_many(["Python is great."], scope="/test", categories=["lang"], importance=0.7)
        matches = mem.recall("Python", scope="/test", limit=5, depth="shallow")  # no drain
        assert [m.record.content for m in matches] == ["Python is great."]

    await asyncio.to_thread(run)


async def test_drain_writes_reports_background_save_failure_without_raising(
    storage: Path, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Differs: CrewAI reports the failure as a ``MemorySaveFailedEvent``; fastcrew has no
    event bus and logs it. The save fails for real: the memory's table already holds
    4-dimension vectors, the embedder gives 256."""
    mem = memory(sim)

    def run() -> None:
        mem.table.add([VectorRecord("old", "old vector", [0.1] * 4, {}, "/test")])
        with caplog.at_level(logging.WARNING):
            assert mem.remember_many(["Fails to save."], **FIELDS) == []
            mem.drain_writes()  # does not raise
        assert mem.table.count() == 1

    await asyncio.to_thread(run)
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert failures
    assert "256" in failures[0].getMessage()  # the cause is named: 256 dimensions, not 4


async def test_close_drains_and_shuts_down(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)

    def run() -> None:
        mem.remember_many(["Important fact."], scope="/test", categories=["t"], importance=0.9)
        mem.close()
        assert mem.table.count() == 1

    await asyncio.to_thread(run)


async def test_executor_save_to_memory_calls_extract_then_remember_per_item(
    storage: Path, sim: Simulator
) -> None:
    """Through a real crew run (CrewAI calls its executor's private ``_save_to_memory``
    with mocks): the task's text goes to ``extract_memories``, each memory extracted is
    saved."""
    scripted = ScriptedLLM(
        ExtractedMemories={"memories": ["Fact A.", "Fact B."]},
        MemoryAnalysis=analysis("/facts", ["research"], 0.6),
    )
    mem = scripted_memory(sim, scripted)
    out = await run_one_task(sim, mem)
    result = out.tasks_output[0].raw
    raw = f"Task: Do research\nAgent: Researcher\nExpected result: A report\nResult: {result}"
    assert raw in scripted.prompt("ExtractedMemories")
    await mem.adrain_writes()
    # (the agent may save more through its memory tools, as CrewAI's agents may)
    saved = {r.content: r.scope for r in await mem.alist_records()}
    assert saved["Fact A."] == saved["Fact B."] == "/facts"
