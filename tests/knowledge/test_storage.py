"""The storage package at CrewAI's paths, ``Agent(knowledge_storage=...)``, the knowledge
arguments Agent and Crew share, and the refused docling source (CrewAI's behaviours
themselves are in tests/compat/test_knowledge*.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from echo_sim import echo_sim_fixture, embedder, llm, storage_fixture  # noqa: F401

from fastcrew import Agent, Crew, Task
from fastcrew.errors import ConfigurationError, UnsupportedFeatureError
from fastcrew.knowledge import BaseKnowledgeStorage as LazyBase
from fastcrew.knowledge import KnowledgeStorage as LazyStorage
from fastcrew.knowledge.knowledge import Knowledge
from fastcrew.knowledge.source.string_knowledge_source import StringKnowledgeSource
from fastcrew.knowledge.storage import BaseKnowledgeStorage, KnowledgeStorage
from fastcrew.sim import Simulator

from .recording_storage import RecordingStorage

FACT = "Zephyr launch code: the Zephyr rocket launch code is AZURE-7781."


def archivist(sim: Simulator, **kwargs: object) -> Agent:
    return Agent(role="Archivist", goal="Answer", backstory="Keeps records.", llm=llm(sim),
                 **kwargs)  # fmt: skip


def test_the_storage_package_keeps_its_names() -> None:
    assert LazyStorage is KnowledgeStorage
    assert LazyBase is BaseKnowledgeStorage
    assert KnowledgeStorage.__module__ == "fastcrew.knowledge.storage.knowledge_storage"
    assert issubclass(KnowledgeStorage, BaseKnowledgeStorage)
    with pytest.raises(TypeError, match="abstract"):
        BaseKnowledgeStorage()  # type: ignore[abstract]
    mine = RecordingStorage(documents=["kept"])  # a pydantic model: fields of its own
    assert mine.documents == ["kept"]
    built = KnowledgeStorage({"provider": "ollama"}, "docs")  # CrewAI's order, positional
    assert (built.embedder_spec, built.collection_name) == ({"provider": "ollama"}, "docs")


async def test_agent_knowledge_storage_holds_and_serves_its_sources(
    storage: Path, sim: Simulator
) -> None:
    mine = RecordingStorage()
    agent = archivist(sim, knowledge_sources=[StringKnowledgeSource(content=FACT)],
                      knowledge_storage=mine)  # fmt: skip
    task = Task(description="What is the Zephyr launch code?", expected_output="e", agent=agent)
    crew = Crew(agents=[agent], tasks=[task], embedder=embedder(sim))
    out = await crew.akickoff()
    await crew.akickoff()
    assert mine.names() == ["asave", "asearch", "asearch"]  # indexed once, searched per run
    assert mine.calls[0] == ("asave", [FACT])
    assert "AZURE-7781" in out.raw.split("Additional Information: ", 1)[1]
    assert not storage.exists()  # noqa: ASYNC240 - nothing went to the built-in store
    assert agent.knowledge_for(None) is agent.knowledge_for(embedder(sim))  # one Knowledge


async def test_agent_knowledge_storage_without_sources_is_searched(
    storage: Path, sim: Simulator
) -> None:
    mine = RecordingStorage(documents=[FACT])  # filled elsewhere
    agent = archivist(sim, knowledge_storage=mine)
    task = Task(description="What is the Zephyr launch code?", expected_output="e", agent=agent)
    out = await Crew(agents=[agent], tasks=[task]).akickoff()
    assert mine.names() == ["asearch"]
    assert "AZURE-7781" in out.raw.split("Additional Information: ", 1)[1]


def test_knowledge_arguments_are_checked_once_for_agent_and_crew(sim: Simulator) -> None:
    agent = archivist(sim)
    task = Task(description="d", expected_output="e", agent=agent)
    with pytest.raises(ConfigurationError, match=r"^Crew embedder must name a provider"):
        Crew(agents=[agent], tasks=[task], embedder={"model": "x"})
    with pytest.raises(ConfigurationError, match=r"^Agent embedder must name a provider"):
        archivist(sim, embedder={"model": "x"})
    with pytest.raises(ConfigurationError, match=r"^Crew knowledge_sources must be knowledge"):
        Crew(agents=[agent], tasks=[task], knowledge_sources=["text"])
    with pytest.raises(ConfigurationError, match=r"^Agent knowledge_storage must be"):
        archivist(sim, knowledge_storage="a folder")


def test_a_docling_source_given_as_a_dict_is_refused(sim: Simulator) -> None:
    docling = {"source_type": "docling", "file_paths": ["https://example.org/"]}
    with pytest.raises(UnsupportedFeatureError, match="CrewDoclingSource is not supported"):
        archivist(sim, knowledge_sources=[docling])
    with pytest.raises(UnsupportedFeatureError, match="PDFKnowledgeSource"):
        Knowledge("docs", sources=[docling])


def test_blocking_calls_use_a_custom_storage_blocking_methods() -> None:
    mine = RecordingStorage()
    knowledge = Knowledge("docs", sources=[StringKnowledgeSource(content=FACT)], storage=mine)
    assert knowledge.query(["Zephyr"])[0]["content"] == FACT
    knowledge.query(["rocket"])
    assert mine.names() == ["save", "search", "search"]  # the sources saved once
    knowledge.reset()
    knowledge.query(["Zephyr"])  # saved again after a reset
    assert mine.names()[3:] == ["reset", "save", "search"]
