"""The default single-task crew's text, shared by the fastcrew and the CrewAI side (stdlib
only: the CrewAI side runs in another interpreter)."""

from __future__ import annotations

__all__ = ["AGENT", "MODEL", "TASK", "TOOLS_TASK", "WARM_UP", "inputs"]

MODEL = "gpt-4.1-mini"
"""A real model name (the simulator answers any): the cells' cost per row is priced at it."""
AGENT = {
    "role": "Analyst",
    "goal": "Summarise topics accurately",
    "backstory": "A careful analyst who writes short, factual summaries.",
}
TASK = {
    "description": "Summarise the current state of {topic}.",
    "expected_output": "Three sentences.",
}
TOOLS_TASK = {
    "description": "Look up the notes on {topic} with the Topic notes tool, then summarise them.",
    "expected_output": "Three sentences.",
}
"""The task of the ``--tools`` crew (its agent has the one tool of :mod:`.tooling`)."""

WARM_UP = {"topic": "warm-up"}
"""The warm-up kickoff's input: none of the measured rows (a tool result cached on it would
spare a measured row its tool call)."""


def inputs(n: int) -> list[dict[str, str]]:
    """``n`` distinct kickoff inputs for the default crew."""
    return [{"topic": f"topic {i}"} for i in range(n)]
