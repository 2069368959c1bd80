"""The default single-task crew's text, shared by the fastcrew and the CrewAI side (stdlib
only: the CrewAI side runs in another interpreter)."""

from __future__ import annotations

__all__ = ["AGENT", "MODEL", "TASK", "inputs"]

MODEL = "sim"
AGENT = {
    "role": "Analyst",
    "goal": "Summarise topics accurately",
    "backstory": "A careful analyst who writes short, factual summaries.",
}
TASK = {
    "description": "Summarise the current state of {topic}.",
    "expected_output": "Three sentences.",
}


def inputs(n: int) -> list[dict[str, str]]:
    """``n`` distinct kickoff inputs for the default crew."""
    return [{"topic": f"topic {i}"} for i in range(n)]
