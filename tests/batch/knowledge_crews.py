"""Crews and a flow with knowledge or memory for the batch tests (loaded by spec in each
worker process): 40 chunks of 100 characters, one fact each, searched before every row's
task; memory noted and recalled by a crew's or a flow's row."""

from __future__ import annotations

from pydantic import BaseModel

from fastcrew import LLM, Agent, Crew, Task
from fastcrew.flow import Flow, listen, start
from fastcrew.knowledge.source.string_knowledge_source import StringKnowledgeSource
from fastcrew.memory import Memory

CHUNKS = 40
CHUNK_SIZE = 100
TEXT = "".join(
    f"Fact {i}: archive item {i} is kept in vault {i * 7} beside crate {i * 13}.".ljust(CHUNK_SIZE)
    for i in range(CHUNKS)
)


def knowledge_crew() -> Crew:
    """One task per row, the same prompt every row (so the knowledge query is too)."""
    agent = Agent(
        role="Archivist", goal="Answer from the archive", backstory="A test agent.",
        llm=LLM("sim-model"),
    )  # fmt: skip
    task = Task(
        name="answer",
        description="Where is archive item 12 kept?",
        expected_output="One line.",
        agent=agent,
    )
    source = StringKnowledgeSource(content=TEXT, chunk_size=CHUNK_SIZE, chunk_overlap=0)
    return Crew(
        agents=[agent],
        tasks=[task],
        knowledge_sources=[source],
        embedder={"provider": "openai", "config": {"dimensions": 64}},
    )


def memory_crew() -> Crew:
    """``memory=True``, two tasks per row: the first notes the row's own code word, the
    second asks for it with no context — only memory can bring it."""
    agent = Agent(
        role="Archivist", goal="Answer from the records", backstory="Keeps the records.",
        llm=LLM("sim-model"),
    )  # fmt: skip
    note = Task(
        description="Note for the archive: the vault access code is {code}.",
        expected_output="One line.",
        agent=agent,
    )
    ask = Task(
        description="What is the vault access code in the archive?",
        expected_output="One line.",
        agent=agent,
        context=[],
    )
    return Crew(
        agents=[agent],
        tasks=[note, ask],
        memory=True,
        embedder={"provider": "openai", "config": {"dimensions": 64}},
    )


class MemoryState(BaseModel):
    code: str
    recalled: list[str] = []


class MemoryFlow(Flow[MemoryState]):
    """A flow row notes its code word in the flow's memory, then recalls every code word."""

    memory = Memory(llm="sim-model", embedder={"provider": "openai", "config": {"dimensions": 64}})

    @start()
    async def note(self) -> None:
        text = f"The vault access code is {self.state.code}."
        await self.aremember(text, scope="/", categories=["codes"], importance=0.5)

    @listen(note)
    async def ask(self) -> None:
        found = await self.arecall("vault access code", limit=50)
        self.state.recalled = [m.record.content for m in found]
