"""Memory in crews against the simulator: its answers echo the whole task prompt, so an
answer shows what the model received — the recalled memories included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fastcrew import Agent, Crew, Task
from fastcrew.errors import ConfigurationError
from fastcrew.memory import Memory
from fastcrew.memory.scopes import batch_row
from fastcrew.sim import Simulator

from .conftest import embedder, llm, memory

NOTE = "Note for the archive: the vault access code is ORCHID-4417."
QUESTION = "What is the vault access code in the archive?"


def agent(sim: Simulator, **kwargs: Any) -> Agent:
    return Agent(
        role="Archivist",
        goal="Answer from the records",
        backstory="Keeps the records.",
        llm=llm(sim),
        **kwargs,
    )


def crew(sim: Simulator, *descriptions: str, **kwargs: Any) -> Crew:
    a = agent(sim, **kwargs.pop("agent_kwargs", {}))
    tasks = [
        Task(description=d, expected_output="One line.", agent=a, context=[]) for d in descriptions
    ]
    kwargs.setdefault("embedder", embedder(sim))
    return Crew(agents=[a], tasks=tasks, **kwargs)


async def test_a_later_task_recalls_a_fact_saved_by_an_earlier_one(
    storage: Path, sim: Simulator
) -> None:
    c = crew(sim, NOTE, QUESTION, memory=True)
    assert not storage.exists()  # noqa: ASYNC240 - building the crew did no I/O
    out = await c.akickoff()
    first, second = out.tasks_output
    assert "Memories from past work" not in first.raw  # nothing saved yet
    # the echo collapses whitespace
    assert "# Memories from past work: Relevant memories: - (score=" in second.raw
    assert "ORCHID-4417" in second.raw  # context=[]: only memory brought it
    # the memory's LLM calls (extraction, analysis) are the run's too
    assert out.token_usage.successful_requests == sim.stats()["requests_total"]
    assert out.token_usage.successful_requests > 2
    mem = c.memory_instance
    assert isinstance(mem, Memory)
    assert mem.root_scope == "/crew/crew"
    found = await mem.arecall("vault access code", limit=50)
    # what the task's result taught, under the agent's scope; what the agent saved with its
    # Save to memory tool (the simulator calls every tool once), under the crew's root
    assert all(m.record.scope.startswith("/crew/crew") for m in found)
    extracted = [m for m in found if m.record.scope.startswith("/crew/crew/agent/archivist")]
    assert any("ORCHID-4417" in m.record.content for m in extracted)
    # memories persist across kickoffs (and crews of the same name), as CrewAI's
    again = await crew(sim, QUESTION, name="crew", memory=True).akickoff()
    assert "ORCHID-4417" in again.raw


async def test_without_memory_nothing_is_recalled(storage: Path, sim: Simulator) -> None:
    out = await crew(sim, NOTE, QUESTION).akickoff()
    assert "ORCHID-4417" not in out.tasks_output[1].raw
    assert sim.stats()["requests_total"] == 2


async def test_a_memory_instance_and_agent_memory(storage: Path, sim: Simulator) -> None:
    mem = memory(sim, root_scope="/team")
    await mem.aremember(NOTE, scope="/", categories=["vault"], importance=0.9)
    out = await crew(sim, QUESTION, memory=mem).akickoff()
    assert "ORCHID-4417" in out.raw
    assert "categories: vault" in out.raw
    # an agent's own memory is used instead of the crew's
    own = memory(sim, root_scope="/mine")
    out = await crew(sim, QUESTION, memory=mem, agent_kwargs={"memory": own}).akickoff()
    assert "ORCHID-4417" not in out.raw
    with pytest.raises(ConfigurationError, match="memory"):
        crew(sim, QUESTION, memory="yes")


async def test_batch_rows_do_not_share_memory_unless_shared(storage: Path, sim: Simulator) -> None:
    c = crew(sim, "{text}", memory=True)
    with batch_row(0):
        await c.akickoff({"text": NOTE})
    with batch_row(1):
        other = await c.akickoff({"text": QUESTION})
    assert "ORCHID-4417" not in other.raw  # row 1 never sees row 0's memories
    with batch_row(0):
        same = await c.akickoff({"text": QUESTION})
    assert "ORCHID-4417" in same.raw  # row 0 sees its own
    scopes = {m.record.scope for m in await c.memory_instance.arecall("vault", limit=50)}
    assert all(s.startswith("/crew/crew/row/") for s in scopes)
    # a shared memory: rows read and write the same scopes
    shared = Memory(llm=llm(sim), embedder=embedder(sim), root_scope="/pool", shared=True)
    s = crew(sim, "{text}", memory=shared)
    with batch_row(0):
        await s.akickoff({"text": NOTE})
    with batch_row(1):
        out = await s.akickoff({"text": QUESTION})
    assert "ORCHID-4417" in out.raw


def test_memory_true_builds_crewai_s_memories(storage: Path, sim: Simulator) -> None:
    c = crew(sim, QUESTION, name="Research Crew", memory=True)
    mem = c.memory_instance
    assert isinstance(mem, Memory)
    assert mem.root_scope == "/crew/research-crew"
    assert mem.llm is c.agents[0].llm
    a = agent(sim, memory=True)
    own = a.memory_for(embedder(sim))
    assert isinstance(own, Memory)
    assert own.root_scope is None
    assert own.llm is a.llm
    assert agent(sim, memory=False).memory_for() is None
    assert crew(sim, QUESTION).memory_instance is None
    assert not storage.exists()


async def test_agents_get_the_memory_tools(storage: Path, sim: Simulator) -> None:
    out = await crew(sim, NOTE, QUESTION, memory=True).akickoff()
    first, second = out.tasks_output
    calls = {c["function"]["name"] for c in first.messages[2]["tool_calls"]}
    assert calls == {"search_memory", "save_to_memory"}
    observations = [m["content"] for m in second.messages if m["role"] == "tool"]
    assert any(o.startswith("Found memories:\n- (score=") for o in observations)
    assert "Saving 2 items to memory in background." in observations
    # a read-only memory: Search memory only
    mem = memory(sim, root_scope="/ro", read_only=True)
    out = await crew(sim, QUESTION, memory=mem).akickoff()
    names = [c["function"]["name"] for c in out.tasks_output[0].messages[2]["tool_calls"]]
    assert names == ["search_memory"]


async def test_agent_kickoff_recalls_and_saves(storage: Path, sim: Simulator) -> None:
    mem = memory(sim, root_scope="/desk")
    a = agent(sim, memory=mem)
    first = await a.akickoff(NOTE)
    assert "Memories from past conversations" not in first.raw
    saved = await mem.alist_records(limit=100)
    assert any("ORCHID-4417" in r.content for r in saved)  # extracted from the exchange
    second = await a.akickoff(QUESTION)
    assert "# Memories from past conversations: Relevant memories: - (score=" in second.raw
    assert "ORCHID-4417" in second.raw
    calls = {c["function"]["name"] for c in second.messages[2]["tool_calls"]}
    assert calls == {"search_memory", "save_to_memory"}  # its memory tools
    assert second.usage_metrics["successful_requests"] > 2  # the memory's calls included
