"""``fastcrew reset-memories`` against real stores: a crew indexes its and its agent's
knowledge on the simulator, a flow saves memories, the command drops what its flags name."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from fastcrew import Agent, Crew, Task
from fastcrew.cli import main
from fastcrew.flow import Flow, start
from fastcrew.knowledge.source.string_knowledge_source import StringKnowledgeSource
from fastcrew.memory.reset import CREW_KNOWLEDGE_PREFIX, areset_memories
from fastcrew.sim import Simulator
from fastcrew.vectors import VectorStore

from .conftest import embedder, llm, memory

FACT = "Zephyr launch code: the Zephyr rocket launch code is AZURE-7781."
POLICY = "Refunds are accepted within 30 days of purchase."


def make_crew(sim: Simulator) -> Crew:
    agent = Agent(
        role="Archivist",
        goal="Answer from the records",
        backstory="Keeps the records.",
        llm=llm(sim),
        knowledge_sources=[StringKnowledgeSource(content=FACT)],
    )
    task = Task(description="What is the launch code?", expected_output="One line.", agent=agent)
    return Crew(
        agents=[agent],
        tasks=[task],
        knowledge_sources=[StringKnowledgeSource(content=POLICY)],
        embedder=embedder(sim),
    )


async def tables(store: str) -> list[str]:
    return await VectorStore(store).atable_names()  # a fresh connection: what is on disk


async def fill(sim: Simulator) -> None:
    """The crew's and the agent's knowledge, and a flow's memories."""
    await make_crew(sim).akickoff()

    class Notes(Flow):
        memory = memory(sim, root_scope="/flow/notes")

        @start()
        async def save(self) -> None:
            await self.aremember(FACT, scope="/facts", categories=[], importance=0.5)
            await self.aremember(POLICY, scope="/policy", categories=[], importance=0.5)

    await Notes().akickoff()


async def cli(*args: str) -> Result:
    """The command through click, in a thread (a sync command: no running loop there)."""
    return await asyncio.to_thread(CliRunner().invoke, main, ["reset-memories", *args])


async def test_each_flag_drops_its_own_tables(storage: Path, sim: Simulator) -> None:
    await fill(sim)
    [memory_table] = await tables("memory")
    knowledge = await tables("knowledge")
    [crew_table] = [t for t in knowledge if t.startswith(CREW_KNOWLEDGE_PREFIX)]
    [agent_table] = [t for t in knowledge if t.startswith("knowledge_Archivist__")]

    result = await cli("-akn")
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"Agent knowledge reset: dropped 1 table(s) in {storage / 'knowledge'} ({agent_table}).\n"
    )
    assert await tables("knowledge") == [crew_table]  # the crew's collection stays
    assert await tables("memory") == [memory_table]

    result = await cli("--memory")
    assert result.exit_code == 0, result.output
    assert "Memory reset: dropped 1 table(s)" in result.output
    assert await tables("memory") == []
    assert await tables("knowledge") == [crew_table]

    result = await cli("-kn")
    assert result.exit_code == 0, result.output
    assert f"({crew_table})" in result.output
    assert await tables("knowledge") == []

    # a new crew indexes its sources again at its first kickoff
    before = sim.stats()["embedding_inputs"]
    await make_crew(sim).akickoff()
    assert sim.stats()["embedding_inputs"] > before
    assert sorted(await tables("knowledge")) == sorted([agent_table, crew_table])


async def test_all_with_the_fastcrew_command(storage: Path, sim: Simulator) -> None:
    await fill(sim)
    command = Path(sys.executable).with_name("fastcrew")
    proc = await asyncio.create_subprocess_exec(
        str(command),
        "reset-memories",
        "-a",
        env={**os.environ, "FASTCREW_STORAGE_DIR": str(storage)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    lines = out.decode().splitlines()
    assert lines[0].startswith("Memory reset: dropped 1 table(s)")
    assert lines[1].startswith("Knowledge reset: dropped 2 table(s)")
    assert lines[2].startswith("Kickoff outputs: fastcrew keeps no kickoff task outputs")
    assert lines[3].startswith(f"Embedding cache: kept ({storage / 'embeddings.sqlite'})")
    assert await tables("memory") == []
    assert await tables("knowledge") == []
    assert (storage / "embeddings.sqlite").exists()
    # again: the stores are there, empty
    again = await areset_memories(all=True)
    assert [str(r).split(":")[0] for r in again] == [
        "Memory",
        "Knowledge",
        "Kickoff outputs",
        "Embedding cache",
    ]
    assert "nothing stored in" in str(again[0])


def test_no_flag_fails_fast_naming_the_flags(storage: Path) -> None:
    result = CliRunner().invoke(main, ["reset-memories"])
    assert result.exit_code == 2
    assert "-m/--memory, -kn/--knowledge, -akn/--agent-knowledge" in result.output
    assert "-k/--kickoff-outputs or -a/--all" in result.output
    assert not storage.exists()


def test_flags_are_not_read_from_the_environment(
    storage: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FASTCREW_RESET_MEMORIES_ALL", "1")
    assert CliRunner().invoke(main, ["reset-memories"]).exit_code == 2


def test_a_missing_storage_folder_is_said(storage: Path) -> None:
    result = CliRunner().invoke(main, ["reset-memories", "-a"])
    assert result.exit_code == 0
    assert result.output.startswith(f"Storage: no storage folder at {storage} ")
    assert "nothing to reset" in result.output
    assert not storage.exists()  # nothing made


def test_kickoff_outputs_and_legacy_flags(storage: Path) -> None:
    storage.mkdir()
    result = CliRunner().invoke(main, ["reset-memories", "-k"])
    assert result.exit_code == 0
    assert result.output == (
        "Kickoff outputs: fastcrew keeps no kickoff task outputs (no `crewai replay` store); "
        "nothing to reset.\n"
    )
    result = CliRunner().invoke(main, ["reset-memories", "-l", "-s"])
    assert result.exit_code == 0
    assert "--long, --short: deprecated, use --memory (-m)" in result.stderr
    assert result.stdout == f"Memory: no memory store at {storage / 'memory'}; nothing to reset.\n"
