"""Crew factories for the batch tests (loaded by spec in each worker process).

Every agent's LLM comes from the environment the worker sets up (``--base-url`` /
``--simulate``), like a user's crew. Behaviour switches come from environment variables,
which the spawned workers inherit.
"""

from __future__ import annotations

import os
import time
from typing import Any

from fastcrew import LLM, Agent, Crew, Task
from fastcrew.limits import RetryPolicy

CRASH_TOPIC_ENV = "FASTCREW_TEST_CRASH_TOPIC"
CAPPED_RPM = 1200
"""``capped_crew``'s max_rpm: 20 calls a second, a burst of 20."""


def _crew(llm: LLM, **crew_kwargs: Any) -> Crew:
    agent = Agent(role="Echo", goal="Answer about {topic}", backstory="A test agent.", llm=llm)
    task = Task(
        name="answer",
        description="Tell me about {topic}",
        expected_output="One line.",
        agent=agent,
    )
    return Crew(agents=[agent], tasks=[task], **crew_kwargs)


def make_crew() -> Crew:
    """One task, one LLM call per row; the answer echoes ``Tell me about <topic>``."""
    return _crew(LLM("sim-model"))


def no_retry_crew() -> Crew:
    """Like :func:`make_crew` but a failed call is not retried (rows fail on a 500)."""
    return _crew(LLM("sim-model", retry=RetryPolicy(max_attempts=1)))


def _crash(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("topic") == os.environ.get(CRASH_TOPIC_ENV):
        os._exit(13)
    return values


def crashing_crew() -> Crew:
    """Kills its worker process when a row's topic is ``$FASTCREW_TEST_CRASH_TOPIC``."""
    return _crew(LLM("sim-model"), before_kickoff_callbacks=[_crash])


not_a_crew = 42


def capped_crew() -> Crew:
    """Like :func:`make_crew` with ``Crew(max_rpm=CAPPED_RPM)``."""
    return _crew(LLM("sim-model"), max_rpm=CAPPED_RPM)


def slow_crew() -> Crew:
    """Takes a minute to build, like a crew module that loads something big at import."""
    time.sleep(60)
    return make_crew()


TOOL_TEXT = "LOOKUP-RESULT"


def _lookup_tool() -> Any:
    from fastcrew.tools import tool

    @tool("Lookup")
    async def lookup(query: str) -> str:
        """Looks a topic up."""
        return f"{TOOL_TEXT} for {query[:20]}"

    return lookup


def tool_crew() -> Crew:
    """One task whose agent has an async tool: with the simulator's one tool round, two LLM
    calls and one tool call per row; the answer quotes the tool's result."""
    agent = Agent(
        role="Echo",
        goal="Answer about {topic}",
        backstory="A test agent.",
        llm=LLM("sim-model"),
        tools=[_lookup_tool()],
    )
    task = Task(description="Tell me about {topic}", expected_output="One line.", agent=agent)
    return Crew(agents=[agent], tasks=[task])


ANTHROPIC_MAX_TOKENS = 1000


def anthropic_crew() -> Crew:
    """Like :func:`make_crew` on ``anthropic/…`` (Anthropic's wire, also under
    ``--simulate``), each call allowing a 1,000-token answer."""
    return _crew(LLM("anthropic/claude-sonnet-4-5", max_tokens=ANTHROPIC_MAX_TOKENS))
