"""A flow's memory (CrewAI 1.15's ``Flow.memory`` / ``remember`` / ``recall`` /
``extract_memories``) against the simulator and a real LanceDB store."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from echo_sim import echo_sim_fixture, embedder, llm, storage_fixture  # noqa: F401

from fastcrew.errors import ConfigurationError, RunningLoopError
from fastcrew.flow import Flow, listen, start
from fastcrew.memory import Memory, MemoryScope
from fastcrew.memory.scopes import batch_row
from fastcrew.sim import Simulator

ORCHID = "The vault access code is ORCHID-4417."
TOMATO = "Tomatoes grow best in warm garden soil with daily watering."
SAVE = {"scope": "/facts", "categories": ["security"], "importance": 0.8}


def sim_memory(sim: Simulator, **kwargs: object) -> Memory:
    return Memory(llm=llm(sim), embedder=embedder(sim), **kwargs)  # type: ignore[arg-type]


# -- which memory ----------------------------------------------------------------------------


def test_the_default_memory_is_rooted_at_the_flow_name(storage: Path) -> None:
    class MyPipelineFlow(Flow):
        @start()
        def go(self) -> None: ...

    class Named(Flow):
        name = "Custom Pipeline"

        @start()
        def go(self) -> None: ...

    flow = MyPipelineFlow()
    assert isinstance(flow.memory, Memory)
    assert flow.memory.root_scope == "/flow/mypipelineflow"
    assert flow.memory is flow.memory  # built once
    assert MyPipelineFlow().memory is not flow.memory  # one per instance, as CrewAI's
    assert Named().memory.root_scope == "/flow/custom-pipeline"
    assert not storage.exists()  # building it does no I/O


def test_a_given_memory_is_used_as_it_is(storage: Path) -> None:
    mine = Memory(llm="gpt-4o-mini", root_scope="/custom/scope")

    class ClassLevel(Flow):
        memory = mine

        @start()
        def go(self) -> None: ...

    class Inherits(ClassLevel):
        pass

    class NoneMeansDefault(Flow):
        memory = None

        @start()
        def go(self) -> None: ...

    assert ClassLevel().memory is mine
    assert ClassLevel().memory.root_scope == "/custom/scope"
    assert Inherits().memory is mine
    assert isinstance(NoneMeansDefault().memory, Memory)
    other = Memory(llm="gpt-4o-mini")
    assert ClassLevel(memory=other).memory is other  # the instance's wins
    scoped = mine.scope("/team")
    flow = NoneMeansDefault(memory=scoped, topic="x")  # other keywords stay state values
    assert flow.memory is scoped
    assert flow.state["topic"] == "x"
    assert "memory" not in flow.state


def test_no_memory_and_bad_memory(storage: Path) -> None:
    class Plain(Flow):
        @start()
        def go(self) -> None: ...

    flow = Plain()
    flow.memory = None
    for call in (
        lambda: flow.remember("content"),
        lambda: flow.recall("query"),
        lambda: flow.extract_memories("content"),
    ):
        with pytest.raises(ValueError, match="No memory configured for this flow"):
            call()
    with pytest.raises(ConfigurationError, match=r"Plain\.memory must be"):
        Plain(memory=True)
    with pytest.raises(ConfigurationError, match="not str"):
        flow.memory = "lancedb"
    with pytest.raises(ConfigurationError, match=r"Bad\.memory must be"):

        class Bad(Flow):
            memory = {"provider": "openai"}

            @start()
            def go(self) -> None: ...


def test_a_flow_that_never_uses_memory_never_imports_it() -> None:
    code = (
        "import sys\n"
        "from fastcrew.flow import Flow, start\n"
        "class F(Flow):\n"
        "    @start()\n"
        "    async def go(self):\n"
        "        return 1\n"
        "assert F().kickoff() == 1\n"
        "assert 'fastcrew.memory.unified_memory' not in sys.modules\n"
        "assert 'fastcrew.vectors.store' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- remember / recall / extract_memories ------------------------------------------------------


async def test_async_methods_remember_and_recall(storage: Path, sim: Simulator) -> None:
    mem = sim_memory(sim, root_scope="/flow/research")

    class Research(Flow):
        memory = mem

        @start()
        async def learn(self) -> None:
            record = await self.aremember(ORCHID, **SAVE)
            assert record is not None
            self.state["scope"] = record.scope
            await self.aremember(TOMATO, scope="/garden", categories=[], importance=0.5)

        @listen(learn)
        async def ask(self) -> str:
            found = await self.arecall("What is the vault access code?", limit=1)
            return found[0].record.content

    flow = Research()
    assert await flow.akickoff() == ORCHID
    assert flow.state["scope"] == "/flow/research/facts"
    assert await mem.table.acount() == 2
    assert sim.stats()["requests_total"] == 0  # every field given: no LLM analysis
    # a second instance (a new kickoff) recalls what the first saved
    [match] = await Research().arecall("garden soil watering", scope="/garden")
    assert match.record.content == TOMATO


async def test_sync_methods_use_the_sync_twins(storage: Path, sim: Simulator) -> None:
    class Notes(Flow):
        memory = sim_memory(sim)

        @start()
        def save(self) -> None:  # a plain def: runs in the runtime's thread pool
            self.remember(ORCHID, **SAVE)

        @listen(save)
        def read(self) -> dict[str, object]:
            found = self.recall("vault access code", depth="shallow")
            extracted = self.extract_memories(f"Meeting notes. {ORCHID} {TOMATO}")
            return {"found": [m.record.content for m in found], "extracted": extracted}

    out = await asyncio.to_thread(Notes().kickoff)  # the simulator serves on this loop
    assert out["found"] == [ORCHID]
    assert out["extracted"]
    assert all(isinstance(text, str) for text in out["extracted"])
    assert sim.stats()["requests_total"] == 1  # the extraction's one structured call


async def test_a_sync_call_inside_an_async_method_names_its_twin(
    storage: Path, sim: Simulator
) -> None:
    class Wrong(Flow):
        memory = sim_memory(sim)

        @start()
        async def go(self) -> None:
            self.recall("anything")

    with pytest.raises(RunningLoopError, match=r"await Wrong\.arecall"):
        await Wrong().akickoff()


async def test_a_list_is_saved_whole_before_the_kickoff_returns(
    storage: Path, sim: Simulator
) -> None:
    mem = sim_memory(sim, root_scope="/flow/batchy")
    texts = [f"Fact number {i} about the orchid vault." for i in range(5)]

    class Many(Flow):
        memory = mem

        @start()
        def save(self) -> None:
            self.remember(texts, scope="/", categories=[], importance=0.5)  # CrewAI's batch

        @listen(save)
        async def more(self) -> int:
            saved = await self.aremember(["An async fact.", "Another."], scope="/a",
                                         categories=[], importance=0.5)  # fmt: skip
            return len(saved)

        @listen(more)
        def fail(self) -> None:
            self.remember(["Saved although the method fails."], scope="/f",
                          categories=[], importance=0.5)  # fmt: skip
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await asyncio.to_thread(Many().kickoff)
    # every save, background or not, is done once kickoff() has returned or raised
    assert await mem.table.acount() == 8
    found = await mem.arecall("Saved although the method fails", scope="/f", depth="shallow")
    assert [m.record.scope for m in found] == ["/flow/batchy/f"]


async def test_a_scope_or_slice_as_the_flow_memory(storage: Path, sim: Simulator) -> None:
    mem = sim_memory(sim)
    team = mem.scope("/team")
    assert isinstance(team, MemoryScope)

    class Scoped(Flow):
        @start()
        async def go(self) -> str | None:
            record = await self.aremember(ORCHID, **SAVE)
            return record.scope if record else None

    assert await Scoped(memory=team).akickoff() == "/team/facts"

    class ListThroughScope(Flow):
        @start()
        def go(self) -> None:
            self.remember(["First team note.", "Second team note."], scope="/notes",
                          categories=[], importance=0.5)  # fmt: skip

    await asyncio.to_thread(ListThroughScope(memory=team).kickoff)
    assert await mem.table.acount() == 3  # the scope's memory was waited for too
    read_only = mem.slice(["/team"])
    flow = Scoped(memory=read_only)
    assert await flow.akickoff() is None  # a slice is read-only: nothing saved
    [match] = await flow.arecall("vault code", scope="/facts")
    assert match.record.content == ORCHID


async def test_a_batch_row_sees_its_own_scope(storage: Path, sim: Simulator) -> None:
    mem = sim_memory(sim, root_scope="/flow/rows")

    class Row(Flow):
        memory = mem

        @start()
        async def go(self) -> list[str]:
            await self.aremember(ORCHID, **SAVE)
            return [m.record.content for m in await self.arecall("vault code")]

    with batch_row(3):
        assert await Row().akickoff() == [ORCHID]
    with batch_row(4):
        assert await Row().akickoff() == [ORCHID]  # its own save, not row 3's
    scopes = sorted({m.record.scope for m in await mem.arecall("vault code")})
    assert scopes == ["/flow/rows/row/3/facts", "/flow/rows/row/4/facts"]


async def test_the_default_memory_saves_under_the_flow_scope(
    storage: Path, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "k")

    class DailyDigest(Flow):
        @start()
        async def go(self) -> str | None:
            record = await self.aremember(ORCHID, **SAVE)
            return record.scope if record else None

    assert await DailyDigest().akickoff() == "/flow/dailydigest/facts"
    assert (storage / "memory").is_dir()
