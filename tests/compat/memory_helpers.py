"""What the memory compatibility tests share: a ``Memory`` on the simulator, a scripted LLM
where CrewAI's test needs a given answer (CrewAI mocks its LLM), near-identical texts, and a
one-task crew run. The simulator's embeddings depend on the lower-cased words only (stop
words dropped), so ``"CrewAI is great."`` and ``"crewai great!"`` have the same vector: that
is how these tests get CrewAI's "identical embeddings" without mocking the embedder."""

from __future__ import annotations

import threading
from typing import Any

from echo_sim import embedder, llm

from fastcrew import Agent, Crew, Task
from fastcrew.memory import Memory
from fastcrew.sim import Simulator

__all__ = ["ScriptedLLM", "analysis", "memory", "run_one_task", "scripted_memory"]


class ScriptedLLM:
    """A custom LLM with CrewAI's ``call`` only: each structured request is answered with
    the answer scripted for its response model (by class name: ``MemoryAnalysis``,
    ``ExtractedMemories``, ``ConsolidationPlan``, ...), as a dict fastcrew validates. A
    request for anything not scripted, or every request when ``fail`` is given, raises.
    ``calls`` records (response model name, messages) in order."""

    def __init__(self, fail: Exception | None = None, **answers: Any) -> None:
        self.answers = answers
        self.fail = fail
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []
        self._lock = threading.Lock()

    def call(self, messages: Any, response_model: Any = None, **_: Any) -> Any:
        name = getattr(response_model, "__name__", "text")
        with self._lock:
            self.calls.append((name, list(messages) if isinstance(messages, list) else messages))
        if self.fail is not None:
            raise self.fail
        if name not in self.answers:
            raise LookupError(f"no scripted answer for {name}")
        return self.answers[name]

    def asked(self, name: str | None = None) -> list[str]:
        """The response models asked for (only ``name``'s when given)."""
        with self._lock:
            return [n for n, _ in self.calls if name is None or n == name]

    def prompt(self, name: str) -> str:
        """Every message text of the first request for ``name``, joined."""
        with self._lock:
            messages = next(m for n, m in self.calls if n == name)
        return "\n".join(str(m.get("content", "")) for m in messages)


def memory(sim: Simulator, **kwargs: Any) -> Memory:
    """A ``Memory`` with the simulator's LLM and embedder (CrewAI's tests: a mocked LLM that
    is never asked, as every field is given)."""
    kwargs.setdefault("llm", llm(sim))
    return Memory(embedder=embedder(sim), **kwargs)


def scripted_memory(sim: Simulator, scripted: ScriptedLLM, **kwargs: Any) -> Memory:
    """A ``Memory`` whose LLM is ``scripted`` and whose embedder is the simulator's."""
    return Memory(llm=scripted, embedder=embedder(sim), **kwargs)


def analysis(scope: str = "/", categories: list[str] | None = None, importance: float = 0.5) -> Any:
    """CrewAI's ``MemoryAnalysis`` answer, as a dict."""
    return {
        "suggested_scope": scope,
        "categories": categories or [],
        "importance": importance,
        "extracted_metadata": {"entities": [], "dates": [], "topics": []},
    }


async def run_one_task(
    sim: Simulator,
    mem: Any,
    role: str = "Researcher",
    description: str = "Do research",
    expected: str = "A report",
    **crew_kwargs: Any,
) -> Any:
    """One task by one agent (on the simulator) in a crew with ``memory=mem``."""
    agent = Agent(role=role, goal="Research", backstory="Expert researcher", llm=llm(sim))
    task = Task(description=description, expected_output=expected, agent=agent)
    crew = Crew(agents=[agent], tasks=[task], memory=mem, embedder=embedder(sim), **crew_kwargs)
    return await crew.akickoff()
