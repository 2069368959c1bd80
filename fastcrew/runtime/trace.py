"""``verbose=True``: a readable plain-text trace of a run on standard output (as CrewAI prints).

``Crew(verbose=True)`` traces every task of its runs; ``Agent(verbose=True)`` the tasks (and
direct ``Agent.kickoff`` calls) of that agent. Each event is one ``print`` of whole lines,
flushed, so concurrent runs interleave by event, never inside a line. Long texts are cut
(:data:`ANSWER_CHARS`, :data:`TOOL_CHARS`); plain ASCII markers, so any terminal encoding
prints it; nothing here sees API keys.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .agent import Agent
    from .outputs import UsageMetrics
    from .run_state import Run

__all__ = ["ANSWER_CHARS", "TOOL_CHARS", "Trace", "trace_for"]

ANSWER_CHARS = 600
"""A final answer is shown up to this many characters."""
TOOL_CHARS = 160
"""A tool's arguments and result are shown up to this many characters each."""
DESCRIPTION_CHARS = 200
"""A task's description is shown up to this many characters."""


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return f"{text[:limit].rstrip()}... (+{len(text) - limit} chars)"


def _one_line(text: str, limit: int) -> str:
    return _cut(" ".join(text.split()), limit)


def _indent(text: str) -> str:
    return "\n".join(f"     {line}" for line in text.splitlines() or [""])


class Trace:
    """Prints one run's events; ``crew`` names the crew (None: a direct agent call)."""

    __slots__ = ("crew", "started")

    def __init__(self, crew: str | None = None) -> None:
        self.crew = crew
        self.started = time.perf_counter()

    @staticmethod
    def _print(text: str) -> None:
        print(text, file=sys.stdout, flush=True)

    def crew_started(self, tasks: int, process: str) -> None:
        """The crew's run begins."""
        self._print(f"\n# Crew {self.crew!r} started: {tasks} task(s), {process} process")

    def task_started(self, number: int, label: str, role: str, description: str) -> None:
        """A task begins (``number`` counts from 1)."""
        self._print(
            f"\n## Task {number} {label!r} (agent: {role})\n"
            f"   {_one_line(description, DESCRIPTION_CHARS)}"
        )

    def agent_started(self, role: str, prompt: str) -> None:
        """A direct ``Agent.kickoff`` begins."""
        self._print(f"\n## Agent {role!r}\n   {_one_line(prompt, DESCRIPTION_CHARS)}")

    def tool(self, name: str, arguments: str | Mapping[str, Any], result: str, error: bool) -> None:
        """One tool call and what it gave back to the model."""
        args = arguments if isinstance(arguments, str) else _mapping_text(arguments)
        outcome = "-> error: " if error else "-> "
        self._print(
            f"   tool: {name}({_one_line(args, TOOL_CHARS)})\n"
            f"     {outcome}{_one_line(result, TOOL_CHARS)}"
        )

    def answer(self, role: str, text: str) -> None:
        """An agent's final answer to a task (or to a direct call)."""
        self._print(f"   final answer ({role}):\n{_indent(_cut(text, ANSWER_CHARS))}")

    def task_failed(self, label: str, error: BaseException) -> None:
        """A task raised (the run fails with it)."""
        reason = _one_line(str(error), ANSWER_CHARS)
        self._print(f"   task {label!r} failed: {type(error).__name__}: {reason}")

    def crew_finished(self, usage: UsageMetrics) -> None:
        """The crew's run is over: elapsed time and token usage."""
        elapsed = time.perf_counter() - self.started
        self._print(
            f"\n# Crew {self.crew!r} finished in {elapsed:.2f} s: "
            f"{usage.successful_requests} LLM call(s), {usage.total_tokens} tokens "
            f"({usage.prompt_tokens} prompt, {usage.completion_tokens} completion)"
        )


def _mapping_text(arguments: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in arguments.items())


def trace_for(run: Run, agent: Agent) -> Trace | None:
    """The trace of ``agent``'s work in ``run``: the crew's when it is verbose, else one of
    its own when the agent is."""
    if run.trace is not None:
        return run.trace
    return Trace() if agent.verbose else None
