"""CrewAI compatibility: the root scopes crews, agents and flows give their memories, and
consolidation kept inside a save's scope, as CrewAI's ``tests/memory/test_memory_root_scope.py``
pins them down; and memory in flows, as ``tests/memory/test_unified_memory.py``'s five
``test_flow_*`` tests do (CrewAI 1.15; written for fastcrew, not copied). What is covered,
different and left out is listed in ``test_memory_root_scope.py``'s and ``test_memory.py``'s
docstrings.

CrewAI checks what its executor's private ``_save_to_memory`` passes to a mocked memory;
here a real crew runs one task on the simulator and the root scope is read from the records
saved (the memory's LLM is a scripted custom LLM: it extracts ``Fact A`` and files it under
``/facts``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from echo_sim import echo_sim_fixture, storage_fixture  # noqa: F401

from fastcrew import Agent, Crew, Task
from fastcrew.flow import Flow, start
from fastcrew.memory import Memory
from fastcrew.sim import Simulator

from .memory_helpers import ScriptedLLM, analysis, memory, run_one_task, scripted_memory


@pytest.fixture(name="api_key")
def api_key_fixture(monkeypatch: pytest.MonkeyPatch) -> None:
    """Agents of model strings need a key to be built (nothing is sent)."""
    monkeypatch.setenv("OPENAI_API_KEY", "k")


def _crew(**kwargs: Any) -> tuple[Agent, Crew]:
    agent = Agent(role="Researcher", goal="Research", backstory="Expert", llm="gpt-4o-mini")
    task = Task(description="Do research", expected_output="Report", agent=agent)
    return agent, Crew(agents=[agent], tasks=[task], **kwargs)


# -- TestCrewAutoScoping, TestBackwardCompatibility.test_crew_without_name_uses_default ----------


def test_crew_memory_true_sets_root_scope(storage: Path, api_key: None) -> None:
    agent, crew = _crew(name="Research Crew", memory=True)
    mem = crew.memory_instance
    assert isinstance(mem, Memory)
    assert mem.root_scope == "/crew/research-crew"
    assert mem.llm is agent.llm
    assert not storage.exists()  # built without I/O


def test_crew_memory_true_prefers_chat_llm(storage: Path, api_key: None) -> None:
    """Differs: ``chat_llm`` is accepted and ignored (``crewai chat`` is not supported), so
    the memory uses the first agent's LLM (CrewAI: the ``chat_llm``)."""
    agent, crew = _crew(name="Research Crew", chat_llm="ollama/llama3", memory=True)
    assert crew.memory_instance.llm is agent.llm


def test_crew_memory_instance_preserves_no_root_scope(storage: Path, api_key: None) -> None:
    mem = Memory(llm="gpt-4o-mini")
    assert mem.root_scope is None
    _, crew = _crew(name="Test Crew", memory=mem)
    assert crew.memory_instance is mem
    assert mem.root_scope is None  # a given memory is not scoped by the crew


def test_crew_respects_existing_root_scope(storage: Path, api_key: None) -> None:
    mem = Memory(llm="gpt-4o-mini", root_scope="/custom/path")
    _, crew = _crew(name="Test Crew", memory=mem)
    assert crew.memory_instance.root_scope == "/custom/path"


@pytest.mark.parametrize(
    ("name", "root"),
    [
        ("My Awesome Crew #1!", "/crew/my-awesome-crew-1"),
        (None, "/crew/crew"),
    ],
    ids=[
        "test_crew_sanitizes_name_for_root_scope",
        "test_crew_without_name_uses_default",
    ],
)
def test_crew_root_scope_from_its_name(
    storage: Path, api_key: None, name: str | None, root: str
) -> None:
    _, crew = _crew(memory=True) if name is None else _crew(name=name, memory=True)
    assert crew.memory_instance.root_scope == root


# -- TestAgentScopeExtension, TestAgentExecutorBackwardCompat ------------------------------------


@pytest.mark.parametrize(
    ("root", "role", "saved_under"),
    [
        ("/crew/research-crew", "Researcher", "/crew/research-crew/agent/researcher"),
        ("/crew/test", "Senior Research Analyst #1", "/crew/test/agent/senior-research-analyst-1"),
        (None, "Researcher", ""),
        ("/crew/test", "Researcher", "/crew/test/agent/researcher"),
    ],
    ids=[
        "test_agent_save_extends_crew_root_scope",
        "test_agent_save_sanitizes_role",
        "test_agent_executor_no_root_scope_when_memory_has_none",
        "test_agent_executor_extends_root_scope_when_memory_has_one",
    ],
)
async def test_agent_save_root_scope(
    storage: Path, sim: Simulator, root: str | None, role: str, saved_under: str
) -> None:
    scripted = ScriptedLLM(
        ExtractedMemories={"memories": ["Fact A"]}, MemoryAnalysis=analysis("/facts", ["f"], 0.6)
    )
    mem = scripted_memory(sim, scripted, root_scope=root)
    await run_one_task(sim, mem, role=role)
    await mem.adrain_writes()
    # every record of the store (the agent may save more through its memory tools)
    [record] = [r for r in await memory(sim).alist_records() if r.content == "Fact A"]
    assert record.scope == saved_under + "/facts"


# -- TestConsolidationIsolation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("root", "outside"),
    [
        ("/crew/a", ["/crew/b/inner", "/crew/a/other"]),
        (None, ["/other", "/crew/a/inner"]),
    ],
    ids=[
        "test_consolidation_search_constrained_to_root_scope",
        "test_consolidation_search_without_root_scope",
    ],
)
async def test_consolidation_search_boundary(
    storage: Path, sim: Simulator, root: str | None, outside: list[str]
) -> None:
    # near-identical texts (one vector) stored outside the save's scope are not compared
    # with it; one stored inside is (a consolidation plan is asked about it alone)
    scripted = ScriptedLLM(ConsolidationPlan={"actions": [], "insert_new": True})
    glob, mem = memory(sim), scripted_memory(sim, scripted, root_scope=root)
    fields: dict[str, Any] = {"categories": [], "importance": 0.5}

    def run() -> None:
        glob.remember("Test note alpha.", scope=outside[0], **fields)
        glob.remember("test note, alpha", scope=outside[1], **fields)
        mem.remember("test note alpha!", scope="/inner", **fields)
        assert scripted.calls == []
        mem.remember("TEST NOTE ALPHA", scope="/inner", **fields)

    await asyncio.to_thread(run)
    assert scripted.asked() == ["ConsolidationPlan"]
    prompt = scripted.prompt("ConsolidationPlan")
    assert "test note alpha!" in prompt
    assert "Test note alpha." not in prompt
    assert "test note, alpha" not in prompt


# -- TestFlowAutoScoping; test_unified_memory.py's test_flow_* -----------------------------------


class MyPipelineFlow(Flow):
    @start()
    def begin(self) -> str:
        return "done"


class NamedFlow(MyPipelineFlow):
    name = "Custom Pipeline"


def test_flow_auto_memory_sets_root_scope(storage: Path) -> None:
    flow = MyPipelineFlow()
    assert isinstance(flow.memory, Memory)  # test_flow_has_default_memory too
    assert flow.memory.root_scope == "/flow/mypipelineflow"


def test_flow_with_name_uses_name_for_root_scope(storage: Path) -> None:
    flow = NamedFlow()
    assert isinstance(flow.memory, Memory)
    assert flow.memory.root_scope == "/flow/custom-pipeline"


def test_flow_user_provided_memory_not_overwritten(storage: Path) -> None:
    user_memory = Memory(llm="gpt-4o-mini", root_scope="/custom/scope")

    class MyFlow(MyPipelineFlow):
        memory = user_memory

    flow = MyFlow()
    assert flow.memory is user_memory
    assert flow.memory.root_scope == "/custom/scope"


def test_flow_has_default_memory(storage: Path) -> None:
    assert isinstance(MyPipelineFlow().memory, Memory)
    assert not storage.exists()


def test_flow_recall_remember_raise_when_memory_explicitly_none() -> None:
    flow = MyPipelineFlow()
    flow.memory = None
    with pytest.raises(ValueError, match="No memory configured"):
        flow.recall("query")
    with pytest.raises(ValueError, match="No memory configured"):
        flow.remember("content")


def test_flow_extract_memories_raises_when_memory_explicitly_none() -> None:
    flow = MyPipelineFlow()
    flow.memory = None
    with pytest.raises(ValueError, match="No memory configured"):
        flow.extract_memories("some content")


async def test_flow_recall_remember_with_memory(storage: Path, sim: Simulator) -> None:
    mem = memory(sim)

    class FlowWithMemory(MyPipelineFlow):
        memory = mem

    def run() -> None:
        flow = FlowWithMemory()
        flow.remember("Flow remembered this", scope="/flow", categories=[], importance=0.6)
        results = flow.recall("remembered", limit=5, depth="shallow")
        assert [m.record.content for m in results] == ["Flow remembered this"]

    await asyncio.to_thread(run)


async def test_flow_extract_memories_delegates_when_memory_present(
    storage: Path, sim: Simulator
) -> None:
    scripted = ScriptedLLM(ExtractedMemories={"memories": ["Flow fact 1.", "Flow fact 2."]})
    mem = scripted_memory(sim, scripted)

    class FlowWithMemory(MyPipelineFlow):
        memory = mem

    found = await asyncio.to_thread(FlowWithMemory().extract_memories, "content here")
    assert found == ["Flow fact 1.", "Flow fact 2."]
    assert "content here" in scripted.prompt("ExtractedMemories")
