"""Knowledge in crews, against the simulator: its ``/v1/embeddings`` puts texts that share
words near each other, and its chat answers echo the last user message (here whole:
``echo_chars``), so an answer shows the task prompt the model received."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from echo_sim import echo_sim_fixture, embedder, llm, storage_fixture  # noqa: F401

from fastcrew import LLM, Agent, Crew, Task
from fastcrew.errors import ConfigurationError
from fastcrew.knowledge import Knowledge, KnowledgeConfig
from fastcrew.knowledge.source.csv_knowledge_source import CSVKnowledgeSource
from fastcrew.knowledge.source.json_knowledge_source import JSONKnowledgeSource
from fastcrew.knowledge.source.pdf_knowledge_source import PDFKnowledgeSource
from fastcrew.knowledge.source.string_knowledge_source import StringKnowledgeSource
from fastcrew.sim import Simulator

FACT = "Zephyr launch code: the Zephyr rocket launch code is AZURE-7781."
OTHER = "Tomatoes grow best in warm garden soil with daily watering."


def crew(sim: Simulator, description: str, *, agent_kwargs: Any = None, **crew_kwargs: Any) -> Crew:
    agent = Agent(
        role="Archivist",
        goal="Answer from the records",
        backstory="Keeps the records.",
        llm=llm(sim),
        **(agent_kwargs or {}),
    )
    task = Task(description=description, expected_output="One line.", agent=agent)
    crew_kwargs.setdefault("embedder", embedder(sim))
    return Crew(agents=[agent], tasks=[task], **crew_kwargs)


async def test_a_crew_fact_reaches_the_task_prompt(storage: Path, sim: Simulator) -> None:
    sources = [StringKnowledgeSource(content=FACT), StringKnowledgeSource(content=OTHER)]
    c = crew(sim, "What is the Zephyr rocket launch code?", knowledge_sources=sources)
    assert not storage.exists()  # noqa: ASYNC240 - building the crew did no I/O
    out = await c.akickoff()
    assert "Additional Information: " in out.raw
    assert "AZURE-7781" in out.raw
    # the query rewrite is one more call of the run, in its usage
    assert out.token_usage.successful_requests == 2
    assert sim.stats()["requests_total"] == 2
    assert sim.stats()["embedding_inputs"] == 3  # two chunks and the query
    # a second kickoff indexes nothing again and embeds the (same) query from the cache
    await c.akickoff()
    assert sim.stats()["embedding_inputs"] == 3


async def test_agent_knowledge_and_its_config(storage: Path, sim: Simulator) -> None:
    sources = [StringKnowledgeSource(content=FACT)]
    question = "What is the Zephyr rocket launch code?"
    strict = crew(
        sim,
        question,
        agent_kwargs={
            "knowledge_sources": sources,
            "knowledge_config": KnowledgeConfig(score_threshold=0.9999),
        },
    )
    out = await strict.akickoff()
    assert "Additional Information" not in out.raw  # nothing scores that high
    loose = crew(
        sim,
        question,
        agent_kwargs={"knowledge_sources": sources, "knowledge_config": {"score_threshold": 0.5}},
    )
    out = await loose.akickoff()
    assert "AZURE-7781" in out.raw


async def test_no_knowledge_no_extra_call(storage: Path, sim: Simulator) -> None:
    out = await crew(sim, "Say hello.").akickoff()
    assert out.token_usage.successful_requests == 1
    assert sim.stats()["embedding_requests"] == 0
    assert not storage.exists()  # noqa: ASYNC240


@pytest.mark.parametrize(
    ("source", "question", "fact"),
    [
        (lambda f: PDFKnowledgeSource(file_paths=[f / "two_pages.pdf"]),
         "What does Brandon play on weekends?", "basketball"),
        (lambda f: CSVKnowledgeSource(file_paths=[f / "people.csv"]),
         "Which city does Alice live in?", "Los Angeles"),
        (lambda f: JSONKnowledgeSource(file_paths=[f / "people.json"]),
         "What are Brandon's tags and hobbies?", "tacos"),
    ],
)  # fmt: skip
async def test_file_sources_reach_the_prompt(
    storage: Path, sim: Simulator, files: Path, source: Any, question: str, fact: str
) -> None:
    c = crew(sim, question, knowledge_sources=[source(files)])
    out = await c.akickoff()
    assert fact in out.raw.split("Additional Information: ", 1)[1]


async def test_query_knowledge_and_score_threshold(storage: Path, sim: Simulator) -> None:
    sources = [StringKnowledgeSource(content=FACT), StringKnowledgeSource(content=OTHER)]
    c = crew(sim, "Anything.", knowledge_sources=sources)
    everything = await c.aquery_knowledge(["warm garden soil tomatoes"], score_threshold=0.0)
    assert everything is not None
    assert [r["content"] for r in everything] == [OTHER, FACT]  # best first
    assert everything[0]["score"] > everything[1]["score"]
    assert set(everything[0]) == {"id", "content", "metadata", "score"}
    close = await c.aquery_knowledge(["warm garden soil tomatoes"], score_threshold=0.8)
    assert close is not None
    assert [r["content"] for r in close] == [OTHER]
    assert await c.aquery_knowledge([OTHER], results_limit=1) == [everything[0] | {"score": 1.0}]
    assert await crew(sim, "No knowledge.").aquery_knowledge(["x"]) is None


def test_sync_query_knowledge(storage: Path, sim_url: str) -> None:
    spec = {"provider": "openai", "config": {"api_key": "k", "api_base": sim_url}}
    agent = Agent(role="A", goal="g", backstory="b", llm=LLM("openai/m", base_url=sim_url))
    task = Task(description="d", expected_output="e", agent=agent)
    c = Crew(
        agents=[agent],
        tasks=[task],
        knowledge_sources=[StringKnowledgeSource(content=FACT)],
        embedder=spec,
    )
    found = c.query_knowledge(["Zephyr rocket launch code"])
    assert found is not None
    assert [r["content"] for r in found] == [FACT]


@pytest.fixture
def sim_url() -> Any:
    from fastcrew.sim import spawn

    with spawn() as server:
        yield server.base_url


async def test_knowledge_object_indexes_once(storage: Path, sim: Simulator) -> None:
    import asyncio

    source = StringKnowledgeSource(content=FACT, chunk_size=20, chunk_overlap=5)
    knowledge = Knowledge("mine", sources=[source], embedder=embedder(sim))  # CrewAI's signature
    found = await asyncio.gather(*(knowledge.aquery(["Zephyr launch"]) for _ in range(5)))
    chunks = len(knowledge.sources[0].knowledge_chunks())
    assert sim.stats()["embedding_inputs"] == chunks + 1  # each chunk once, the query once
    assert found[0]
    assert all(f == found[0] for f in found)
    assert knowledge.storage.stats.added == chunks


def test_bad_arguments_fail_at_construction(sim_url: str) -> None:
    base = {"role": "A", "goal": "g", "backstory": "b", "llm": LLM("openai/m", base_url=sim_url)}
    with pytest.raises(ConfigurationError, match="knowledge sources"):
        Agent(**base, knowledge_sources=["text"])
    with pytest.raises(ConfigurationError, match="provider"):
        Agent(**base, embedder={"model": "x"})
    with pytest.raises(ValueError, match="Unknown source_type"):
        Agent(**base, knowledge_sources=[{"source_type": "nope"}])
    with pytest.raises(ConfigurationError, match="knowledge_config"):
        Agent(**base, knowledge_config=3)
    agent = Agent(**base, knowledge_sources=[{"source_type": "string", "content": FACT}])
    assert isinstance(agent.knowledge_sources[0], StringKnowledgeSource)  # type: ignore[index]


async def test_concurrent_kickoffs_index_once(storage: Path, sim: Simulator) -> None:
    text = " ".join(f"Record {i} says the vault holds {i * 3} crates." for i in range(30))
    source = StringKnowledgeSource(content=text, chunk_size=60, chunk_overlap=10)
    chunks = len({chunk.content_hash for chunk in source.knowledge_chunks()})
    c = crew(sim, "How many crates does the vault hold?", knowledge_sources=[source])
    outs = await c.akickoff_for_each([{"n": i} for i in range(20)])
    assert all("crates" in out.raw.split("Additional Information: ", 1)[1] for out in outs)
    assert sim.stats()["embedding_inputs"] == chunks + 1  # each chunk once; one shared query
    assert c.knowledge.storage.stats.added == chunks


def test_sync_kickoff_with_agent_knowledge(storage: Path, sim_url: str) -> None:
    spec = {"provider": "openai", "config": {"api_key": "k", "api_base": sim_url}}
    agent = Agent(
        role="Keeper of the records",  # the collection name: not a valid table name as is
        goal="g",
        backstory="b",
        llm=LLM("openai/m", base_url=sim_url),
        knowledge_sources=[StringKnowledgeSource(content=FACT)],
        embedder=spec,
    )
    task = Task(description="Zephyr rocket launch code?", expected_output="e", agent=agent)
    out = Crew(agents=[agent], tasks=[task]).kickoff()
    assert out.token_usage.successful_requests == 2
    assert agent.knowledge_for(None) is agent.knowledge_for({"provider": "other"})  # own embedder
    # the same agent answers on its own too (Agent.execute_task: no crew)
    assert agent.execute_task(task)
