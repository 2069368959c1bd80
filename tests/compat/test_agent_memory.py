"""CrewAI compatibility: an agent's memory and knowledge, as CrewAI 1.15 pins them down in
``lib/crewai/tests/agents/test_agent.py``, ``agents/test_lite_agent.py`` (``Agent.kickoff``)
and ``test_flow.py`` (a flow's background saves); written for fastcrew, not copied. Runs on
the simulator (answers echo the prompt, so a test sees what the model received; no tool
rounds, so the memory tools are not called) with a real LanceDB store under a temporary
``$FASTCREW_STORAGE_DIR``. Where CrewAI patches ``Knowledge`` or its storage to see the
searches, the knowledge has a storage of one's own that records its calls
(``RecordingStorage``, a ``BaseKnowledgeStorage`` subclass); where it mocks the memory, the
memory's LLM is a scripted custom LLM (``memory_helpers.ScriptedLLM``) and the records are
read from the store.

From ``test_agent.py`` — covered: 11 tests, three deliberately different, one failing as
fastcrew does not do what it pins yet (docs/compatibility.md) —
``test_agent_with_knowledge_sources``,
``test_agent_with_knowledge_sources_with_query_limit_and_score_threshold``,
``test_agent_with_knowledge_sources_with_query_limit_and_score_threshold_default``,
``test_agent_with_knowledge_sources_extensive_role``,
``test_agent_with_knowledge_sources_works_with_copy``,
``test_agent_with_knowledge_with_no_crewai_knowledge`` and
``test_agent_knowledege_with_crewai_knowledge`` (both skipped in CrewAI: they need an
OpenRouter key; the crew's knowledge comes from its ``knowledge_sources``),
``test_agent_with_only_crewai_knowledge`` (as CrewAI writes it, with
``Crew(knowledge=Knowledge(...))``); deliberately different (the test says why):
``test_agent_memory_true_uses_agent_llm_model`` (``agent.memory`` keeps ``True``; the
``Memory`` is ``agent.memory_for()``), ``test_agent_with_knowledge_sources_generate_search_query``
(no ``agent.knowledge_search_query``: a run never writes into the agent) and
``test_get_knowledge_search_query`` (the query request is fastcrew's own wording; what it
carries and where its answer goes is tested).

From ``test_lite_agent.py`` — ``test_lite_agent_memory_none_default``; deliberately
different: ``test_lite_agent_memory_true_resolves_to_default_memory`` (``memory_for()``, not
the private ``_memory``) and ``test_lite_agent_memory_instance_recall_and_save_called``
(CrewAI's deprecated ``LiteAgent`` recalls 10 memories and saves with ``agent_role``;
fastcrew has only ``Agent``, whose ``kickoff`` does what CrewAI's ``Agent.kickoff`` does: 20
memories, saved without a role).

From ``test_flow.py`` — deliberately different:
``test_flow_drains_pending_memory_saves_before_finished_event`` (no ``FlowFinishedEvent``:
the saves are in the store when ``kickoff`` returns).
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from echo_sim import embedder, llm, storage_fixture  # noqa: F401
from knowledge.recording_storage import RecordingStorage

from fastcrew import LLM, Agent, Crew, Task
from fastcrew.flow import Flow, listen, start
from fastcrew.knowledge.knowledge import Knowledge
from fastcrew.knowledge.knowledge_config import KnowledgeConfig
from fastcrew.knowledge.source.string_knowledge_source import StringKnowledgeSource
from fastcrew.knowledge.storage.factory import set_knowledge_storage_factory
from fastcrew.llms.base_llm import BaseLLM
from fastcrew.memory import Memory
from fastcrew.sim import Simulator, serve

from .memory_helpers import ScriptedLLM, analysis, scripted_memory

BRANDON = "Brandon's favorite color is red and he likes Mexican food."


@pytest.fixture(name="sim")
async def quiet_sim_fixture() -> AsyncIterator[Simulator]:
    """The echoing simulator without tool rounds (agents with memory get the memory tools;
    these tests count the recalls and saves themselves)."""
    async with serve(echo_chars=100_000, tool_rounds=0) as server:
        yield server


def _info_agent(sim: Simulator, **kwargs: Any) -> Agent:
    kwargs.setdefault("role", "Information Agent")
    return Agent(
        goal="Provide information based on knowledge sources",
        backstory="You have access to specific knowledge sources.",
        llm=llm(sim),
        **kwargs,
    )


def _question_crew(agent: Agent, sim: Simulator, **kwargs: Any) -> Crew:
    task = Task(
        description="What is Brandon's favorite color?",
        expected_output="Brandon's favorite color.",
        agent=agent,
    )
    return Crew(agents=[agent], tasks=[task], embedder=embedder(sim), **kwargs)


def _searches(storage: RecordingStorage) -> list[tuple[Any, ...]]:
    return [call for call in storage.calls if call[0] in ("search", "asearch")]


# -- test_agent.py: memory -------------------------------------------------------------------------


def test_agent_memory_true_uses_agent_llm_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Differs: CrewAI replaces ``agent.memory`` with the ``Memory`` it builds; fastcrew keeps
    the value given (``True``) and builds the ``Memory`` at its first use, without I/O
    (``agent.memory_for()``) — with the agent's LLM, as CrewAI's."""
    agent = Agent(role="test role", goal="test goal", backstory="test backstory",
                  llm="ollama/llama3", memory=True)  # fmt: skip
    assert agent.memory is True
    mem = agent.memory_for()
    assert isinstance(mem, Memory)
    assert mem.llm is agent.llm
    assert mem.llm.model == "ollama/llama3"
    assert agent.memory_for() is mem  # built once


# -- test_agent.py: knowledge ---------------------------------------------------------------------


async def test_agent_with_knowledge_sources(storage: Path, sim: Simulator) -> None:
    agent = _info_agent(sim, knowledge_sources=[StringKnowledgeSource(content=BRANDON)])
    crew = _question_crew(agent, sim)
    result = await crew.akickoff()
    assert "red" in result.raw.lower()  # the fact reached the prompt (echoed back)
    first = sim.stats()["embedding_inputs"]
    assert first == 2  # the source's one chunk, added once, and the query
    again = await crew.akickoff()  # the sources are not added again
    assert "red" in again.raw.lower()
    assert sim.stats()["embedding_inputs"] == first  # nothing embedded: chunk stored, query cached


async def test_agent_with_knowledge_sources_with_query_limit_and_score_threshold(
    storage: Path, sim: Simulator
) -> None:
    recording = RecordingStorage()
    agent = _info_agent(
        sim,
        knowledge_sources=[StringKnowledgeSource(content=BRANDON)],
        knowledge_storage=recording,
        knowledge_config=KnowledgeConfig(results_limit=10, score_threshold=0.5),
    )
    await _question_crew(agent, sim).akickoff()
    ((_, query, limit, _, threshold),) = _searches(recording)  # one search
    assert (limit, threshold) == (10, 0.5)  # the agent's knowledge_config
    (text,) = query  # one query: the model's rewrite of the task prompt (echoed)
    assert "Brandon's favorite color" in text


async def test_agent_with_knowledge_sources_with_query_limit_and_score_threshold_default(
    storage: Path, sim: Simulator
) -> None:
    recording = RecordingStorage()
    agent = _info_agent(
        sim,
        knowledge_sources=[StringKnowledgeSource(content=BRANDON)],
        knowledge_storage=recording,
        knowledge_config=KnowledgeConfig(),
    )
    await _question_crew(agent, sim).akickoff()
    ((_, query, limit, _, threshold),) = _searches(recording)
    assert (limit, threshold) == (5, 0.6)  # KnowledgeConfig's defaults
    assert len(query) == 1


async def test_agent_with_knowledge_sources_extensive_role(storage: Path, sim: Simulator) -> None:
    role = "Information Agent with extensive role description that is longer than 80 characters"
    assert len(role) > 80
    agent = _info_agent(sim, role=role, knowledge_sources=[StringKnowledgeSource(content=BRANDON)])
    result = await _question_crew(agent, sim).akickoff()
    assert "red" in result.raw.lower()


def test_agent_with_knowledge_sources_works_with_copy(storage: Path) -> None:
    agent = Agent(
        role="Information Agent",
        goal="Provide information based on knowledge sources",
        backstory="You have access to specific knowledge sources.",
        llm=LLM("gpt-4o-mini", api_key="k"),
        knowledge_sources=[StringKnowledgeSource(content=BRANDON)],
    )
    agent.knowledge_storage = RecordingStorage()
    with warnings.catch_warnings():  # fastcrew's Agent.copy is pydantic's (deprecated) copy
        warnings.simplefilter("ignore", DeprecationWarning)
        copy = agent.copy()
    assert (copy.role, copy.goal, copy.backstory) == (agent.role, agent.goal, agent.backstory)
    assert copy.knowledge_sources is not None
    assert len(copy.knowledge_sources) == 1
    assert isinstance(copy.knowledge_sources[0], StringKnowledgeSource)
    assert copy.knowledge_sources[0].content == BRANDON
    assert isinstance(copy.llm, LLM)
    assert not storage.exists()  # nothing indexed by building or copying


async def test_agent_with_knowledge_sources_generate_search_query(
    storage: Path, sim: Simulator
) -> None:
    """Differs: CrewAI keeps the last query on the agent (``agent.knowledge_search_query``);
    a fastcrew run never writes into its agent (one agent serves concurrent runs), so the
    query is read where it goes: the knowledge storage's search."""
    recording = RecordingStorage()
    agent = _info_agent(
        sim,
        role="Information Agent with extensive role description that is longer than 80 characters",
        knowledge_sources=[StringKnowledgeSource(content=BRANDON)],
        knowledge_storage=recording,
    )
    task = Task(
        description="What is Brandon's favorite color?",
        expected_output="The answer to the question, in a format like this: "
        "`{{name: str, favorite_color: str}}`",
        agent=agent,
    )
    result = await Crew(agents=[agent], tasks=[task]).akickoff()
    ((_, (query,), *_),) = _searches(recording)
    assert "Brandon" in query
    assert "favorite color" in query
    assert "red" in result.raw.lower()
    assert not hasattr(agent, "knowledge_search_query")


async def test_agent_with_knowledge_with_no_crewai_knowledge(storage: Path, sim: Simulator) -> None:
    recording = RecordingStorage(documents=["Vidit's favorite color is green."])
    agent = _info_agent(sim, knowledge=Knowledge("vidit", [], storage=recording))
    task = Task(description="What is Vidit's favorite color?",
                expected_output="Vidit's favorite color.", agent=agent)  # fmt: skip
    result = await Crew(agents=[agent], tasks=[task]).akickoff()
    assert len(_searches(recording)) == 1  # the agent's Knowledge was queried once
    assert "green" in result.raw


async def test_agent_with_only_crewai_knowledge(storage: Path, sim: Simulator) -> None:
    """As CrewAI writes it: the crew is given a ``Knowledge`` object (``Crew(knowledge=...)``)
    and an agent without knowledge of its own queries it once."""
    recording = RecordingStorage(documents=["Vidit's favorite color is green."])
    agent = _info_agent(sim)
    task = Task(description="What is Vidit's favorite color?",
                expected_output="Vidit's favorite color.", agent=agent)  # fmt: skip
    crew = Crew(agents=[agent], tasks=[task],
                knowledge=Knowledge("crew", [], storage=recording))  # fmt: skip
    await crew.akickoff()
    assert len(_searches(recording)) == 1


@pytest.fixture(name="crew_storage")
def crew_storage_fixture() -> Iterator[RecordingStorage]:
    """The storage the crew's knowledge (collection ``crew``) gets from the registered
    factory (CrewAI's ``set_knowledge_storage_factory``); other collections the built-in."""
    recording = RecordingStorage()
    set_knowledge_storage_factory(lambda _embedder, name: recording if name == "crew" else None)
    try:
        yield recording
    finally:
        set_knowledge_storage_factory(None)


async def test_agent_knowledege_with_crewai_knowledge(
    storage: Path, sim: Simulator, crew_storage: RecordingStorage
) -> None:
    """The crew's knowledge is its ``knowledge_sources`` (fastcrew's ``Crew`` takes no
    ``knowledge=`` object: see the test above); both the agent's and the crew's are queried
    once."""
    agent_storage = RecordingStorage(documents=["Vidit's favorite color is green."])
    agent = _info_agent(sim, knowledge=Knowledge("vidit", [], storage=agent_storage))
    task = Task(description="What is Vidit's favorite color?",
                expected_output="Vidit's favorite color.", agent=agent)  # fmt: skip
    sources = [StringKnowledgeSource(content="Vidit's car is blue.")]
    crew = Crew(agents=[agent], tasks=[task], knowledge_sources=sources)
    result = await crew.akickoff()
    assert len(_searches(agent_storage)) == 1
    assert len(_searches(crew_storage)) == 1
    assert "green" in result.raw
    assert "blue" in result.raw


class QueryLLM(BaseLLM):
    """A custom LLM answering the knowledge-query request with ``Capital of France`` and
    anything else with a final answer; ``calls`` keeps every request's messages."""

    def __init__(self) -> None:
        super().__init__(model="query-model")
        self.calls: list[list[dict[str, Any]]] = []

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        self.calls.append([dict(m) for m in messages])
        return "Capital of France" if len(self.calls) == 1 else "Paris."

    def supports_function_calling(self) -> bool:
        return False


async def test_get_knowledge_search_query(storage: Path) -> None:
    """Differs: CrewAI's private ``_get_knowledge_search_query`` sends its i18n prompts
    (``knowledge_search_query_system_prompt`` / ``knowledge_search_query``); fastcrew's
    request is its own wording. As in CrewAI: before the task, one request to the agent's
    LLM carries the task prompt, and its answer, whole, is the query searched."""
    recording = RecordingStorage(documents=["The capital of France is Paris."])
    model = QueryLLM()
    agent = Agent(role="Information Agent", goal="Provide information based on knowledge",
                  backstory="I have access to knowledge sources", llm=model,
                  knowledge=Knowledge("france", [], storage=recording))  # fmt: skip
    task = Task(description="What is the capital of France?",
                expected_output="The capital of France is Paris.", agent=agent)  # fmt: skip
    result = await Crew(agents=[agent], tasks=[task]).akickoff()
    assert result.raw == "Paris."
    assert len(model.calls) == 2  # the query, then the task
    query_request = "\n".join(str(m["content"]) for m in model.calls[0])
    assert "What is the capital of France?" in query_request
    assert "The capital of France is Paris." in query_request  # the whole task prompt
    assert [call[1] for call in _searches(recording)] == [["Capital of France"]]
    # what was found is in the task's prompt
    task_request = "\n".join(str(m["content"]) for m in model.calls[1])
    assert "The capital of France is Paris." in task_request


# -- test_lite_agent.py ---------------------------------------------------------------------------


async def test_lite_agent_memory_none_default(storage: Path, sim: Simulator) -> None:
    agent = Agent(role="Test", goal="Test goal", backstory="Test backstory", llm=llm(sim),
                  memory=None)  # fmt: skip
    assert agent.memory_for() is None
    result = await agent.akickoff("Say ok")
    assert "Memories from past conversations" not in result.raw
    assert sim.stats()["embedding_requests"] == 0  # no recall, no save
    assert sim.stats()["requests_total"] == 1  # the answer only: no extraction
    assert not (storage / "memory").exists()


def test_lite_agent_memory_true_resolves_to_default_memory(storage: Path) -> None:
    """Differs: CrewAI's ``LiteAgent`` keeps the memory in the private ``_memory``; here it
    is ``agent.memory_for()``: a ``Memory`` with the agent's LLM."""
    agent = Agent(role="Test", goal="Test goal", backstory="Test backstory",
                  llm=LLM("gpt-4o-mini", api_key="k"), memory=True)  # fmt: skip
    mem = agent.memory_for()
    assert isinstance(mem, Memory)
    assert mem.llm is agent.llm
    assert not storage.exists()  # built without I/O


WORDS = [
    "amber", "basalt", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo",
    "jasper", "kelp", "lagoon", "marble", "nectar", "onyx", "pepper", "quartz", "russet",
    "saffron", "tundra", "umber", "velvet", "willow", "xenon", "yarrow",
]  # fmt: skip


async def test_lite_agent_memory_instance_recall_and_save_called(
    storage: Path, sim: Simulator
) -> None:
    """Differs: CrewAI's deprecated ``LiteAgent`` recalls 10 memories and saves with
    ``agent_role``; fastcrew has only ``Agent``, whose ``kickoff`` recalls 20 and saves the
    extracted memories without a role, as CrewAI's ``Agent.kickoff`` does. With a memory
    given as an instance: the request recalls, then what the answer taught is extracted and
    each extracted memory saved."""
    scripted = ScriptedLLM(
        ExtractedMemories={"memories": ["Fact one.", "Fact two."]}, MemoryAnalysis=analysis()
    )
    mem = scripted_memory(sim, scripted)
    stored = [f"The answer hides in {word}." for word in WORDS]  # 25 memories about answers
    await mem.aremember_many(stored, scope="/", categories=["c"], importance=0.5, wait=True)
    agent = Agent(role="Test", goal="Test goal", backstory="Test backstory", llm=llm(sim),
                  memory=mem)  # fmt: skip
    assert agent.memory_for() is mem

    result = await agent.akickoff("What is the answer?")
    # one recall, 20 memories (Agent.kickoff's limit) in the request (the echo joins lines)
    assert result.raw.count("- (score=") == 20
    assert scripted.asked("ExtractedMemories") == ["ExtractedMemories"]  # extracted once
    assert "What is the answer?" in scripted.prompt("ExtractedMemories")
    saved = {r.content: r for r in await mem.alist_records(limit=100)}
    assert {"Fact one.", "Fact two."} <= saved.keys()  # each extracted memory saved
    assert all("agent_role" not in saved[f].metadata for f in ("Fact one.", "Fact two."))


# -- test_flow.py ---------------------------------------------------------------------------------


class GatedLLM(ScriptedLLM):
    """A scripted LLM whose answers wait until ``gate`` is set."""

    def __init__(self, **answers: Any) -> None:
        super().__init__(**answers)
        self.gate = threading.Event()

    def call(self, messages: Any, response_model: Any = None, **kwargs: Any) -> Any:
        assert self.gate.wait(timeout=60), "the gate was never opened"
        return super().call(messages, response_model=response_model, **kwargs)


async def test_flow_drains_pending_memory_saves_before_finished_event(
    storage: Path, tmp_path: Path, sim: Simulator
) -> None:
    """Differs: no ``FlowFinishedEvent`` (no event bus). CrewAI drains the memory's
    background saves before it; here they are in the store when ``kickoff`` returns. The
    save's analysis waits until the flow's last method has run, so it is still pending when
    the flow ends; the table is read directly (reads such as ``recall`` would wait)."""
    scripted = GatedLLM(MemoryAnalysis=analysis(scope="/notes"))
    mem = Memory(llm=scripted, embedder=embedder(sim), storage=str(tmp_path / "flow-mem"))
    facts = ["Apples help counting.", "Wooden blocks teach shapes."]

    class MemoryFlow(Flow):
        @start()
        async def step_1(self) -> str:
            assert await self.aremember(facts) == []  # a list: saved in the background
            return "done"

        @listen(step_1)
        def step_2(self, _previous: str) -> str:
            scripted.gate.set()  # the saves may go on now
            return "finished"

    assert await MemoryFlow(memory=mem).akickoff() == "finished"
    assert await asyncio.to_thread(mem.table.count) == len(facts)
