"""The rest of CrewAI's ``Memory`` surface: background saves and the read barrier,
consolidation with similar memories, the listings (``list_scopes``, ``list_records``,
``info``, ``tree``, ``list_categories``), ``update`` and ``reset_all``."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from fastcrew.errors import ConfigurationError
from fastcrew.memory import Memory
from fastcrew.memory.analyze import ConsolidationPlan, MemoryAnalysis
from fastcrew.sim import Simulator

from .conftest import embedder, memory

WIFI_OLD = "The office wifi password is BLUE-FALCON-22 for the guest network."
WIFI_NEW = "The office wifi password is RED-OTTER-91 for the guest network."


class ScriptedLLM:
    """An LLM whose structured answers the test decides: ``plan(user_message)`` for a
    consolidation, a fixed analysis otherwise; it counts the calls of each kind."""

    def __init__(self, plan: Any = None, analysis: MemoryAnalysis | None = None) -> None:
        self.plan = plan
        self.analysis = analysis or MemoryAnalysis(suggested_scope="/notes", importance=0.7)
        self.calls: dict[str, int] = {}

    async def acall(
        self, messages: list[dict[str, str]], response_model: type[BaseModel], **_: Any
    ) -> Any:
        name = response_model.__name__
        self.calls[name] = self.calls.get(name, 0) + 1
        if response_model is ConsolidationPlan:
            return self.plan(messages[-1]["content"])
        return self.analysis


def _ids(user_message: str) -> list[str]:
    return re.findall(r"\"record_id\":\"([0-9a-f]+)\"", user_message)


async def test_remember_many_saves_in_the_background_and_recall_waits(
    storage: Path, sim: Simulator
) -> None:
    mem = memory(sim, root_scope="/app")
    facts = [f"Harbour {name} opens at dawn." for name in ("north", "south", "east")]
    assert await mem.aremember_many(facts, scope="/ports", categories=["ports"]) == []
    found = await mem.arecall("harbour opens at dawn", limit=10)  # waits for the save
    assert sorted(m.record.content for m in found) == sorted(facts)
    assert {m.record.scope for m in found} == {"/app/ports"}
    # the sync twins, from a thread: returns at once, drain_writes waits
    more = ["Harbour west opens at noon."]
    assert await asyncio.to_thread(mem.remember_many, more, scope="/ports", importance=0.5,
                                   categories=["ports"]) == []  # fmt: skip
    await asyncio.to_thread(mem.drain_writes)
    assert len(await mem.alist_records()) == 4
    # wait=True (fastcrew's): the records written come back
    saved = await mem.aremember_many(["Harbour fees rose."], scope="/fees", wait=True,
                                     categories=[], importance=0.5)  # fmt: skip
    assert [r.scope for r in saved] == ["/app/fees"]


async def test_a_failed_background_save_is_logged_not_raised(
    storage: Path, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Memory(llm="openai/x", embedder={"provider": "openai", "config": {
        "api_key": "k", "api_base": "http://127.0.0.1:9/v1", "dimensions": 8}})  # fmt: skip
    assert await broken.aremember_many(["lost"], scope="/", categories=[], importance=0.5) == []
    await broken.adrain_writes()
    assert "background memory save failed" in caplog.text


async def test_listings(storage: Path, sim: Simulator) -> None:
    mem = memory(sim, root_scope="/crew/c")
    await mem.aremember("Alpha launch is Monday.", scope="/agent/planner", categories=["dates"],
                        importance=0.5)  # fmt: skip
    await mem.aremember("Beta launch is Friday.", scope="/agent/planner/beta",
                        categories=["dates", "beta"], importance=0.5)  # fmt: skip
    await mem.aremember("Budget is 40k.", scope="/agent/finance", categories=["money"],
                        importance=0.5)  # fmt: skip
    other = memory(sim, root_scope="/crew/other")
    await other.aremember("Unrelated.", scope="/x", categories=["misc"], importance=0.5)

    assert await mem.alist_scopes() == ["/crew/c/agent"]
    assert await mem.alist_scopes("/agent") == ["/crew/c/agent/finance", "/crew/c/agent/planner"]
    info = await mem.ainfo("/agent/planner")
    assert info.path == "/crew/c/agent/planner"
    assert info.record_count == 2
    assert info.categories == ["beta", "dates"]
    assert info.child_scopes == ["/crew/c/agent/planner/beta"]
    assert info.oldest_record is not None
    assert info.newest_record is not None
    assert info.oldest_record <= info.newest_record
    assert (await mem.ainfo("/nothing")).record_count == 0
    assert await mem.atree() == (
        "/crew/c (3 records)\n"
        "  /crew/c/agent (3 records)\n"
        "    /crew/c/agent/finance (1 records)\n"
        "    /crew/c/agent/planner (2 records)\n"
        "      /crew/c/agent/planner/beta (1 records)"
    )
    assert (await mem.atree(max_depth=1)).count("\n") == 1
    assert await mem.alist_categories() == {"dates": 2, "beta": 1, "money": 1}
    records = await mem.alist_records()
    assert [r.content for r in records] == [
        "Budget is 40k.",
        "Beta launch is Friday.",
        "Alpha launch is Monday.",
    ]  # newest first
    assert [r.content for r in await mem.alist_records(limit=1, offset=1)] == [
        "Beta launch is Friday."
    ]
    scope = mem.scope("/agent")
    assert await scope.alist_scopes() == ["/crew/c/agent/finance", "/crew/c/agent/planner"]
    assert (await scope.ainfo("/planner")).record_count == 2
    assert await scope.alist_categories("/finance") == {"money": 1}
    assert (await scope.subscope("/finance").ainfo()).record_count == 1
    both = mem.slice(["/agent/finance", "/agent/planner/beta"])
    assert (await both.ainfo()).record_count == 2
    assert await both.alist_categories() == {"money": 1, "dates": 1, "beta": 1}
    # sync twins
    assert await asyncio.to_thread(mem.list_categories, "/agent/finance") == {"money": 1}
    assert (await asyncio.to_thread(mem.info)).record_count == 3

    await mem.areset_all()  # whatever the root: the whole store
    await other.table.arefresh()  # another handle on the table: see the delete now
    assert (await other.ainfo()).record_count == 0


async def test_update(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)
    record = await mem.aremember(WIFI_OLD, scope="/office", categories=["it"], importance=0.4)
    assert record is not None
    updated = await mem.aupdate(record.id, content=WIFI_NEW, importance=0.9, categories=["sec"])
    assert (updated.id, updated.content, updated.importance) == (record.id, WIFI_NEW, 0.9)
    [match] = await mem.arecall("office wifi password RED-OTTER-91", limit=5)
    assert (match.record.content, match.record.categories) == (WIFI_NEW, ["sec"])
    moved = await asyncio.to_thread(mem.update, record.id, scope="archive")
    assert moved.scope == "/archive"
    with pytest.raises(ValueError, match="Record not found: nope"):
        await mem.aupdate("nope", content="x")


async def test_consolidation_updates_and_deletes_similar_memories(
    storage: Path, sim: Simulator
) -> None:
    def update_old(user: str) -> ConsolidationPlan:
        [old] = _ids(user)
        return ConsolidationPlan.model_validate({"insert_new": False, "actions": [
            {"action": "update", "record_id": old, "new_content": WIFI_NEW},
            {"action": "delete", "record_id": "made-up-id"},
        ]})  # fmt: skip

    scripted = ScriptedLLM(plan=update_old)
    # the simulator's vectors: these two texts are 0.54 similar (as CrewAI scores a hit)
    mem = Memory(llm=scripted, embedder=embedder(sim), consolidation_threshold=0.5)
    first = await mem.aremember(WIFI_OLD, scope="/office", categories=["it"], importance=0.5)
    assert scripted.calls == {}  # nothing similar stored yet
    second = await mem.aremember(WIFI_NEW, scope="/office", categories=["it"], importance=0.5)
    assert scripted.calls == {"ConsolidationPlan": 1}
    assert second is not None
    assert first is not None
    assert (second.id, second.content) == (first.id, WIFI_NEW)  # the old one, updated
    assert [r.content for r in await mem.alist_records()] == [WIFI_NEW]

    # a plan that deletes the stored one and inserts the new content
    scripted.plan = lambda user: ConsolidationPlan.model_validate(
        {"insert_new": True, "actions": [{"action": "delete", "record_id": _ids(user)[0]}]}
    )
    newest = WIFI_NEW.replace("RED-OTTER-91", "GREEN-HERON-5")
    await mem.aremember(newest, scope="/office", categories=["it"], importance=0.5)
    assert [r.content for r in await mem.alist_records()] == [newest]

    # an exact copy already stored: no LLM call, nothing written
    calls = dict(scripted.calls)
    assert await mem.aremember(newest, scope="/office", categories=["it"], importance=0.5) is None
    assert scripted.calls == calls
    # a memory below the threshold costs no consolidation call
    await mem.aremember("Lunch is at noon in the canteen.", scope="/office", categories=["x"],
                        importance=0.5)  # fmt: skip
    assert scripted.calls == calls
    assert len(await mem.alist_records()) == 2


async def test_near_repeats_in_one_batch_are_saved_once(storage: Path, sim: Simulator) -> None:
    scripted = ScriptedLLM(plan=lambda user: ConsolidationPlan())
    mem = Memory(llm=scripted, embedder=embedder(sim))
    saved = await mem.aremember_many(
        ["Ships dock at pier nine.", "Ships dock at pier nine!", "Cranes unload at pier two."],
        wait=True,
    )
    assert sorted(r.content for r in saved) == [
        "Cranes unload at pier two.",
        "Ships dock at pier nine.",
    ]
    assert scripted.calls == {"MemoryAnalysis": 2}  # no field given: analysed, one call each
    assert {(r.scope, r.importance) for r in saved} == {("/notes", 0.7)}


def test_storage_is_the_default_store_or_a_folder(tmp_path: Path) -> None:
    assert Memory(storage=tmp_path / "mem").storage == tmp_path / "mem"
    with pytest.raises(ConfigurationError, match="custom storage backends are not supported"):
        Memory(storage=object())
