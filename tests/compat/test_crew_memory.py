"""CrewAI compatibility: a crew's memory and knowledge, as CrewAI 1.15's
``lib/crewai/tests/test_crew.py`` pins them down (written for fastcrew, not copied) —
``memory=True`` and its recall / save around each task, what the save hands to the
memory's LLM, saves started during a run finished when the kickoff returns, copies, and
``crew.reset_memories``. Runs on the simulator (its answers echo the prompt, so a test sees
what the model received; no tool rounds, so the memory tools are not called) with a real
LanceDB store under a temporary ``$FASTCREW_STORAGE_DIR``. Where CrewAI patches ``Memory``'s
methods to see what they get, the memory's LLM is a scripted custom LLM
(``memory_helpers.ScriptedLLM``) and the records are read from the store; where it hands a
crew ``MagicMock(spec=Knowledge)`` objects, the knowledge has a storage of one's own
(``RecordingStorage``, a ``BaseKnowledgeStorage`` subclass) that records its calls.

Covered: 21 of its tests, two deliberately different — ``test_using_memory``,
``test_using_memory_with_remember``, ``test_memory_enabled_creates_unified_memory``,
``test_memory_remember_called_after_task``,
``test_using_memory_recall_and_save``, ``test_disabled_memory``,
``test_memory_remember_receives_task_content``,
``test_crew_with_knowledge_sources_works_with_copy``, ``test_crew_copy_with_memory``,
``test_kickoff_drains_pending_memory_saves_before_completion_event``,
``test_kickoff_drains_agent_memory_saves_before_completion_event`` (no event: "before the
completion event" is "stored when ``kickoff`` returns", read from the table, which does not
wait for saves as ``recall`` does), the eight ``test_reset_knowledge_*`` /
``test_reset_agent_knowledge_*`` tests (the crew's knowledge from its
``knowledge_sources``; one of them on the real store), and, deliberately different (the
test says why): ``test_memory_events_are_emitted`` (fastcrew has no event bus: the recall
and the save the events report are read from the simulator's requests and the store) and
``test_reset_memory_uses_full_unified_memory_reset`` (``reset_memories("memory")`` resets
the crew's memory scope, not the whole store). Beyond CrewAI's file: the other command
types (``all``, ``kickoff_outputs``, legacy names, an unknown one), a scope's and a slice's
reset, the crew's knowledge reset on the real store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from echo_sim import embedder, llm, storage_fixture  # noqa: F401
from knowledge.recording_storage import RecordingStorage

from fastcrew import Agent, Crew, Task
from fastcrew.knowledge.knowledge import Knowledge
from fastcrew.knowledge.source.string_knowledge_source import StringKnowledgeSource
from fastcrew.knowledge.storage.factory import set_knowledge_storage_factory
from fastcrew.memory import Memory
from fastcrew.runtime.reset import areset_crew_memories
from fastcrew.sim import Simulator, serve
from fastcrew.vectors import VectorStore

from .memory_helpers import ScriptedLLM, analysis, memory, scripted_memory

FIVE_FACTS = [
    "Apples help counting.",
    "Wooden blocks teach shapes.",
    "Coins show value.",
    "Dice practise addition.",
    "Pizza slices explain halves.",
]
TASK = "Research a topic to teach a kid aged 6 about math."
EXPECTED = "A topic, explanation, angle, and examples."


@pytest.fixture(name="sim")
async def quiet_sim_fixture() -> AsyncIterator[Simulator]:
    """The echoing simulator without tool rounds: answers come at once, no tool is called
    (agents with memory get the memory tools; a test here counts the saves itself)."""
    async with serve(echo_chars=100_000, tool_rounds=0) as server:
        yield server


def _math_crew(sim: Simulator, mem: Any = True, **kwargs: Any) -> tuple[Agent, Crew]:
    agent = Agent(
        role="Researcher",
        goal="You research about math.",
        backstory="You're an expert in research and you love to learn new things.",
        llm=llm(sim),
        **kwargs,
    )
    task = Task(description=TASK, expected_output=EXPECTED, agent=agent)
    return agent, Crew(agents=[agent], tasks=[task], memory=mem, embedder=embedder(sim))


async def _count(mem: Any) -> int:
    """Rows in the memory's table, read directly: no wait for background saves."""
    return int(await asyncio.to_thread(mem.table.count))


# -- memory=True ---------------------------------------------------------------------------------


async def test_using_memory(storage: Path, sim: Simulator) -> None:
    _, crew = _math_crew(sim)
    result = await crew.akickoff()
    assert result.raw
    mem = crew.memory_instance
    assert isinstance(mem, Memory)
    assert mem.root_scope == "/crew/crew"


async def test_using_memory_with_remember(storage: Path, sim: Simulator) -> None:
    # memory=True saves what the task taught: records under the crew's scope afterwards.
    _, crew = _math_crew(sim)
    await crew.akickoff()
    records = await crew.memory_instance.alist_records(limit=100)
    assert records
    assert all(r.scope.startswith("/crew/crew/agent/researcher") for r in records)


async def test_memory_enabled_creates_unified_memory(
    storage: Path, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    _, crew = _math_crew(sim, verbose=True)
    await crew.akickoff()
    assert isinstance(crew.memory_instance, Memory)  # the one unified memory, no kinds
    assert "final answer" in capsys.readouterr().out  # the verbose agent ran its task


async def test_memory_remember_called_after_task(storage: Path, sim: Simulator) -> None:
    facts = ["Counting with apples suits six-year-olds.", "Shapes are a good first topic."]
    scripted = ScriptedLLM(ExtractedMemories={"memories": facts}, MemoryAnalysis=analysis())
    _, crew = _math_crew(sim, scripted_memory(sim, scripted))
    await crew.akickoff()
    # the extraction got the task's raw content blob...
    assert scripted.asked("ExtractedMemories") == ["ExtractedMemories"]
    raw = scripted.prompt("ExtractedMemories")
    assert "Task:" in raw
    assert "Agent:" in raw
    assert "Researcher" in raw
    # ...and each extracted memory was remembered, as a non-empty text
    stored = sorted(r.content for r in await crew.memory_instance.alist_records(limit=100))
    assert stored == sorted(facts)


async def test_memory_remember_receives_task_content(storage: Path, sim: Simulator) -> None:
    scripted = ScriptedLLM(ExtractedMemories={"memories": []})
    _, crew = _math_crew(sim, scripted_memory(sim, scripted))
    result = await crew.akickoff()
    raw = scripted.prompt("ExtractedMemories")
    for label in ("Task:", "Agent:", "Expected result:", "Result:"):
        assert label in raw
    assert TASK in raw
    assert "Researcher" in raw
    assert EXPECTED in raw
    assert result.raw[:200] in raw  # the task's answer itself
    assert await crew.memory_instance.alist_records() == []  # nothing extracted, nothing saved


async def test_using_memory_recall_and_save(storage: Path, sim: Simulator) -> None:
    fact = "Kids of six learn addition best with apples."
    scripted = ScriptedLLM(ExtractedMemories={"memories": [fact]}, MemoryAnalysis=analysis())
    mem = scripted_memory(sim, scripted, root_scope="/crew/crew")
    _, crew = _math_crew(sim, mem)
    first = await crew.akickoff()
    assert "Relevant memories" not in first.raw  # nothing to recall yet
    assert [r.content for r in await mem.alist_records()] == [fact]  # saved after the task
    second = await crew.akickoff()
    # the second run's task recalled the first's memory into its prompt (echoed back)
    assert "Relevant memories:" in second.raw
    assert fact in second.raw


async def test_disabled_memory(storage: Path, sim: Simulator) -> None:
    _, crew = _math_crew(sim, mem=False)
    result = await crew.akickoff()
    assert crew.memory_instance is None
    assert "Relevant memories" not in result.raw
    stats = sim.stats()
    assert stats["requests_total"] == 1  # the task's answer only: no extraction
    assert stats["embedding_requests"] == 0  # no recall, no save
    assert not (storage / "memory").exists()


async def test_memory_events_are_emitted(storage: Path, sim: Simulator) -> None:
    """Differs: fastcrew has no event bus, so there are no ``MemoryRetrieval*`` /
    ``MemoryQuery*`` / ``MemorySave*`` events (docs/memory.md). What they report happens:
    the task's recall embeds its query and searches the store (the memory found is in the
    task's prompt), and the save after it embeds and stores what was extracted."""
    scripted = ScriptedLLM(ExtractedMemories={"memories": ["Use apples."]},
                           MemoryAnalysis=analysis())  # fmt: skip
    mem = scripted_memory(sim, scripted)
    await mem.aremember("Math topics for kids: counting.", categories=["math"], importance=0.9)
    before = sim.stats()["embedding_requests"]
    _, crew = _math_crew(sim, mem)
    result = await crew.akickoff()
    assert "Math topics for kids: counting." in result.raw  # retrieved into the prompt
    assert sim.stats()["embedding_requests"] - before == 2  # the recall's query, the save
    contents = sorted(r.content for r in await mem.alist_records())
    assert contents == ["Math topics for kids: counting.", "Use apples."]


# -- saves started during a run: stored when the kickoff returns ---------------------------------


async def test_kickoff_drains_pending_memory_saves_before_completion_event(
    storage: Path, sim: Simulator
) -> None:
    """No event: CrewAI drains the saves before ``CrewKickoffCompletedEvent``; here, once
    ``akickoff`` returns, a save the crew's task callback started in the background is in
    the store (read from the table, which does not wait for saves)."""
    scripted = ScriptedLLM(ExtractedMemories={"memories": []})
    mem = scripted_memory(sim, scripted, root_scope="/crew/crew")
    texts = FIVE_FACTS

    async def task_callback(_output: Any) -> None:
        assert await mem.aremember_many(texts, scope="/notes", categories=["n"],
                                        importance=0.5) == []  # fmt: skip

    _, crew = _math_crew(sim, mem)
    crew.task_callback = task_callback
    await crew.akickoff()
    assert await _count(mem) == len(texts)


async def test_kickoff_drains_agent_memory_saves_before_completion_event(
    storage: Path, tmp_path: Path, sim: Simulator
) -> None:
    """As above, for a save started on an agent's own memory (a folder of its own)."""
    scripted = ScriptedLLM(ExtractedMemories={"memories": []})
    agent_mem = scripted_memory(sim, scripted, storage=str(tmp_path / "agent-mem"))
    texts = FIVE_FACTS

    async def task_callback(_output: Any) -> None:
        await agent_mem.aremember_many(texts, scope="/notes", categories=["n"], importance=0.5)

    _, crew = _math_crew(sim, False, memory=agent_mem)
    crew.task_callback = task_callback
    await crew.akickoff()
    assert await _count(agent_mem) == len(texts)


# -- copies ------------------------------------------------------------------------------------


def test_crew_with_knowledge_sources_works_with_copy(storage: Path) -> None:
    agent = Agent(role="Researcher", goal="Research", backstory="Expert", llm=llm_stub())
    writer = Agent(role="Senior Writer", goal="Write", backstory="Writer", llm=llm_stub())
    source = StringKnowledgeSource(
        content="Brandon's favorite color is red and he likes Mexican food."
    )
    crew = Crew(
        agents=[agent, writer],
        tasks=[Task(description="test", expected_output="test", agent=agent)],
        knowledge_sources=[source],
    )
    copy = crew.copy()
    assert copy.knowledge_sources == crew.knowledge_sources
    assert len(copy.agents) == len(crew.agents)
    assert len(copy.tasks) == len(crew.tasks)
    assert not storage.exists()  # neither builds nor indexes anything


def test_crew_copy_with_memory(storage: Path) -> None:
    agent = Agent(role="Test Agent", goal="Test Goal", backstory="Test", llm=llm_stub())
    task = Task(description="Test Task", expected_output="Test Output", agent=agent)
    crew = Crew(agents=[agent], tasks=[task], memory=True)
    copy = crew.copy()
    assert copy.memory_instance is not None
    assert copy.memory_instance is crew.memory_instance  # the clone shares the memory


def llm_stub() -> Any:
    """An LLM nothing is sent to (these tests never kick off)."""
    from fastcrew import LLM

    return LLM("openai/sim-model", base_url="http://127.0.0.1:9/v1", api_key="k")


# -- reset_memories: memory ------------------------------------------------------------------------


async def test_reset_memory_uses_full_unified_memory_reset(storage: Path, sim: Simulator) -> None:
    """Differs: CrewAI's ``reset_memories("memory")`` empties the whole store
    (``Memory.reset_all``: every crew's, agent's and flow's memories). fastcrew's resets what
    the crew owns, its memory's scope (``/crew/<name>``: its tasks' saves under
    ``/crew/<name>/agent/<role>`` included), and keeps what other crews and flows stored in
    the same store; ``fastcrew reset-memories --memory`` (or ``Memory.reset_all()``) empties
    the store."""
    _, crew = _math_crew(sim)
    mine = crew.memory_instance
    other = memory(sim, root_scope="/crew/other-crew")
    fields: dict[str, Any] = {"categories": ["c"], "importance": 0.5}
    await mine.aremember("Apples teach counting.", scope="/agent/researcher", **fields)
    await mine.aremember("The crew meets weekly.", scope="/", **fields)
    await other.aremember("Shapes come first.", scope="/", **fields)
    assert len(await mine.alist_records()) == 2
    assert mine.table.name == other.table.name  # one store, one table: the same embedder

    await asyncio.to_thread(crew.reset_memories, "memory")
    assert await mine.alist_records() == []
    assert [r.content for r in await other.alist_records()] == ["Shapes come first."]


async def test_reset_memory_legacy_names_and_all(storage: Path, sim: Simulator) -> None:
    """CrewAI's legacy kinds (``long``, ``short``, ``entity``, ``external``) mean the
    memory; ``all`` resets what the crew has, here its memory alone (no knowledge: no
    error); ``kickoff_outputs`` resets nothing (fastcrew keeps none) and does not fail."""
    _, crew = _math_crew(sim)
    mem = crew.memory_instance
    for kind in ("long", "short", "entity", "external", "all"):
        await mem.aremember(f"A note before {kind}.", scope="/", categories=["c"],
                            importance=0.5)  # fmt: skip
        await asyncio.to_thread(crew.reset_memories, kind)
        assert await mem.alist_records() == [], kind
    await asyncio.to_thread(crew.reset_memories, "kickoff_outputs")


async def test_reset_memory_of_a_scope_and_a_slice(storage: Path, sim: Simulator) -> None:
    """fastcrew's side: a crew given a ``MemoryScope`` resets that scope only (awaitable
    form, ``areset_crew_memories``); a ``MemorySlice`` (a view over several scopes) is
    refused."""
    base = memory(sim)
    fields: dict[str, Any] = {"categories": ["c"], "importance": 0.5}
    await base.aremember("Apples teach counting.", scope="/team/a", **fields)
    await base.aremember("Shapes come first.", scope="/team/b", **fields)
    _, crew = _math_crew(sim, base.scope("/team/a"))
    await areset_crew_memories(crew, "memory")
    assert [r.content for r in await base.alist_records()] == ["Shapes come first."]
    _, sliced = _math_crew(sim, base.slice(["/team/a", "/team/b"]))
    with pytest.raises(RuntimeError, match="MemorySlice cannot be reset"):
        await areset_crew_memories(sliced, "memory")


def test_reset_memories_refuses_unknown_type_and_missing_memory(storage: Path) -> None:
    agent = Agent(role="Researcher", goal="Research", backstory="Expert", llm=llm_stub())
    crew = Crew(agents=[agent], tasks=[Task(description="d", expected_output="e", agent=agent)])
    with pytest.raises(ValueError, match="agent_knowledge, all, kickoff_outputs"):
        crew.reset_memories(command_type="everything")
    with pytest.raises(RuntimeError, match="Memory memory system is not initialized"):
        crew.reset_memories(command_type="memory")
    crew.reset_memories(command_type="all")  # nothing to reset: no error


# -- reset_memories: knowledge -------------------------------------------------------------------


@pytest.fixture(name="recorded")
def recorded_fixture() -> Iterator[list[tuple[str, str]]]:
    """Every ``Knowledge`` built without a storage gets a recording one (the registered
    factory, CrewAI's ``set_knowledge_storage_factory``); the list holds
    ``(collection, method)`` for each reset, in order."""
    log: list[tuple[str, str]] = []

    class Logged(RecordingStorage):
        collection: str = ""

        async def areset(self) -> None:
            log.append((self.collection, "areset"))
            await super().areset()

        def reset(self) -> None:
            log.append((self.collection, "reset"))
            super().reset()

    set_knowledge_storage_factory(lambda _embedder, name: Logged(collection=name or ""))
    try:
        yield log
    finally:
        set_knowledge_storage_factory(None)


def _source(text: str) -> list[StringKnowledgeSource]:
    return [StringKnowledgeSource(content=text)]


def _two_agent_crew(
    crew_knowledge: bool = False, agent_knowledge: bool = False, **kwargs: Any
) -> tuple[Agent, Agent, Crew]:
    own = {"knowledge_sources": _source("An agent's fact.")} if agent_knowledge else {}
    researcher = Agent(role="Researcher", goal="R", backstory="B", llm=llm_stub(), **own)
    writer = Agent(role="Senior Writer", goal="W", backstory="B", llm=llm_stub(), **own)
    crew = Crew(
        agents=[researcher, writer],
        tasks=[
            Task(description="Task 1", expected_output="output", agent=researcher),
            Task(description="Task 2", expected_output="output", agent=writer),
        ],
        knowledge_sources=_source("The crew's fact.") if crew_knowledge else None,
        **kwargs,
    )
    return researcher, writer, crew


def test_reset_knowledge_with_no_crew_knowledge(storage: Path) -> None:
    _, _, crew = _two_agent_crew()
    with pytest.raises(RuntimeError) as raised:
        crew.reset_memories(command_type="knowledge")
    assert "Crew Knowledge and Agent Knowledge memory system is not initialized" in str(
        raised.value
    )


def test_reset_knowledge_with_only_crew_knowledge(
    storage: Path, recorded: list[tuple[str, str]]
) -> None:
    _, _, crew = _two_agent_crew(crew_knowledge=True)
    crew.reset_memories(command_type="knowledge")
    assert recorded == [("crew", "areset")]


async def test_reset_knowledge_with_only_crew_knowledge_on_the_store(
    storage: Path, sim: Simulator
) -> None:
    """The same on the real store: the indexed collection is emptied, and the next
    kickoff indexes the sources again (its task finds the fact once more)."""
    fact = "The school's math club meets on Tuesdays."
    agent, crew = _math_crew(sim, mem=False)
    crew = Crew(agents=[agent], tasks=crew.tasks, knowledge_sources=_source(fact),
                embedder=embedder(sim))  # fmt: skip
    assert fact in (await crew.akickoff()).raw  # "Additional Information: ..." echoed
    store = VectorStore("knowledge")
    (table,) = await store.atable_names()
    assert await asyncio.to_thread(store.table(table).count) == 1

    await asyncio.to_thread(crew.reset_memories, "knowledge")
    assert table not in await store.atable_names() or (
        await asyncio.to_thread(store.table(table).count) == 0
    )
    assert fact in (await crew.akickoff()).raw  # indexed again
    assert await asyncio.to_thread(store.table(table).count) == 1


def test_reset_knowledge_with_crew_and_agent_knowledge(
    storage: Path, recorded: list[tuple[str, str]]
) -> None:
    _, _, crew = _two_agent_crew(crew_knowledge=True, agent_knowledge=True)
    crew.reset_memories(command_type="knowledge")
    # the crew's, then each agent's (their collections are named after their roles)
    assert recorded == [("crew", "areset"), ("Researcher", "areset"),
                        ("Senior Writer", "areset")]  # fmt: skip


def test_reset_knowledge_with_only_agent_knowledge(storage: Path) -> None:
    # CrewAI sets ``agent.knowledge`` to a Knowledge object: so does this test.
    research_storage, writer_storage = RecordingStorage(), RecordingStorage()
    researcher, writer, crew = _two_agent_crew()
    researcher.knowledge = Knowledge("research", [], storage=research_storage)
    writer.knowledge = Knowledge("writing", [], storage=writer_storage)
    crew.reset_memories(command_type="knowledge")
    assert research_storage.names() == writer_storage.names() == ["areset"]


def test_reset_agent_knowledge_with_no_agent_knowledge(storage: Path) -> None:
    _, _, crew = _two_agent_crew()
    with pytest.raises(RuntimeError) as raised:
        crew.reset_memories(command_type="agent_knowledge")
    assert "Agent Knowledge memory system is not initialized" in str(raised.value)


def test_reset_agent_knowledge_with_only_crew_knowledge(
    storage: Path, recorded: list[tuple[str, str]]
) -> None:
    _, _, crew = _two_agent_crew(crew_knowledge=True)
    with pytest.raises(RuntimeError) as raised:
        crew.reset_memories(command_type="agent_knowledge")
    assert "Agent Knowledge memory system is not initialized" in str(raised.value)
    assert recorded == []  # the crew's knowledge is kept


def test_reset_agent_knowledge_with_crew_and_agent_knowledge(
    storage: Path, recorded: list[tuple[str, str]]
) -> None:
    _, _, crew = _two_agent_crew(crew_knowledge=True, agent_knowledge=True)
    crew.reset_memories(command_type="agent_knowledge")
    assert recorded == [("Researcher", "areset"), ("Senior Writer", "areset")]  # not "crew"


def test_reset_agent_knowledge_with_only_agent_knowledge(
    storage: Path, recorded: list[tuple[str, str]]
) -> None:
    _, _, crew = _two_agent_crew(agent_knowledge=True)
    crew.reset_memories(command_type="agent_knowledge")
    assert recorded == [("Researcher", "areset"), ("Senior Writer", "areset")]
