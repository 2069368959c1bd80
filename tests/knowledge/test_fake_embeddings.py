"""Knowledge against an independent fake of OpenAI's embeddings API (tests/embeddings'
``FakeEmbeddings``, nothing of fastcrew's): its vectors are hashes of the text, so only the
same text is near — the test's LLM rewrites the task into exactly the fact's text, and the
fact must reach the task prompt; indexing again embeds nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from echo_sim import storage_fixture  # noqa: F401
from embeddings.fake_server import FakeEmbeddings, fake_fixture  # noqa: F401

from fastcrew import Agent, Crew, Task
from fastcrew.knowledge.source.string_knowledge_source import StringKnowledgeSource
from fastcrew.llms.base_llm import BaseLLM

FACT = "The Zephyr rocket launch code is AZURE-7781."
OTHERS = [f"Crate {i} holds spare parts for engine {i}." for i in range(5)]


class RewritingLLM(BaseLLM):
    """Answers the knowledge query rewrite with the fact's text, any other request with its
    last message (so the answer shows the task prompt)."""

    def __init__(self) -> None:
        super().__init__(model="fake-chat")
        self.prompts: list[str] = []

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        last = str(messages[-1]["content"])
        self.prompts.append(last)
        return FACT if last.startswith("The task: ") else f"Answer to: {last}"


def _crew(fake: FakeEmbeddings, llm: RewritingLLM) -> Crew:
    agent = Agent(role="Archivist", goal="Answer", backstory="Keeps records.", llm=llm)
    task = Task(description="What is the Zephyr launch code?", expected_output="One line.",
                agent=agent)  # fmt: skip
    sources = [StringKnowledgeSource(content=text) for text in [FACT, *OTHERS]]
    spec = {"provider": "openai", "config": {"api_key": "k", "api_base": f"{fake.url}/v1",
                                              "model": "fake-embed"}}  # fmt: skip
    return Crew(agents=[agent], tasks=[task], knowledge_sources=sources, embedder=spec)


async def test_a_fact_reaches_the_prompt_through_a_fake_embeddings_server(
    storage: Path, fake: FakeEmbeddings
) -> None:
    llm = RewritingLLM()
    out = await _crew(fake, llm).akickoff()
    assert f"Additional Information: {FACT}" in out.raw
    assert sorted(fake.texts) == sorted([FACT, *OTHERS, FACT])  # 6 chunks, then the query
    embedded = len(fake.texts)
    # a new crew over the same sources, in the same storage: nothing embedded again
    again = await _crew(fake, RewritingLLM()).akickoff()
    assert FACT in again.raw
    assert len(fake.texts) == embedded
