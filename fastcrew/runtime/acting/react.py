"""The ReAct text format, for models without native tool calls.

The agent's system prompt lists the tools (``Tool Name:`` / ``Tool Arguments:`` /
``Tool Description:``) and asks for ``Thought:`` / ``Action:`` / ``Action Input:`` to call one,
or ``Final Answer:`` to finish; the result comes back in a user message starting with
``Observation:``. The same markers CrewAI's prompts use, so models tuned on them (and
``fastcrew sim``) follow them; the wording is ours.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ...tools.invoke import strip_fences

__all__ = ["ReactAction", "ReactFinal", "observation", "parse_react", "react_instructions"]

_ACTION = re.compile(
    r"Action\s*\d*\s*:\s*(?P<tool>[^\n]*?)\s*\n+\s*Action\s*\d*\s*Input\s*\d*\s*:\s*(?P<input>.*)",
    re.DOTALL,
)
_FINAL = re.compile(r"Final\s+Answer\s*:\s*(?P<answer>.*)", re.DOTALL)
_OBSERVATION = re.compile(r"\n\s*Observation\s*:", re.IGNORECASE)

FORMAT_REMINDER = (
    "Your reply did not follow the format. To use a tool, reply with a `Thought:` line, an "
    "`Action:` line naming one tool and an `Action Input:` line holding a JSON object. To "
    "finish, reply with a `Thought:` line and a `Final Answer:` with the complete answer."
)


@dataclass(slots=True, frozen=True)
class ReactAction:
    """The model asked to run ``tool`` with ``arguments`` (raw text: JSON, hopefully)."""

    tool: str
    arguments: str
    text: str
    """The reply up to the action input (a hallucinated observation cut off)."""


@dataclass(slots=True, frozen=True)
class ReactFinal:
    """The model's final answer."""

    answer: str


def react_instructions(tools: Sequence[str], names: Sequence[str]) -> str:
    """The tools section of a ReAct system prompt: ``tools`` are the rendered tool blocks."""
    listed = "\n\n".join(tools)
    return (
        "You can use the tools below, and no others:\n\n"
        f"{listed}\n\n"
        "To use a tool, reply in exactly this format, then stop and wait for its result:\n\n"
        "Thought: what you will do next, and why\n"
        f"Action: the tool to use, exactly as named: one of [{', '.join(names)}]\n"
        "Action Input: the tool's arguments, as one JSON object\n\n"
        "The result comes back as `Observation: ...`. Repeat as often as needed. Once you "
        "have everything, reply in this format:\n\n"
        "Thought: I know the final answer\n"
        "Final Answer: the complete final answer"
    )


def observation(result: str) -> str:
    """The user message that hands a tool's result back."""
    return f"Observation: {result}"


def parse_react(text: str) -> ReactAction | ReactFinal | None:
    """Read one ReAct reply: an action, a final answer, or None when it follows neither."""
    cut = _OBSERVATION.search(text)
    if cut is not None:
        text = text[: cut.start()]  # the model made up an observation: ignore it
    final = _FINAL.search(text)
    action = _ACTION.search(text)
    if action is not None and (final is None or action.start() < final.start()):
        arguments = action.group("input")
        if final is not None:
            arguments = arguments[: final.start() - action.start("input")]
        tool = action.group("tool").strip().strip("`'\"")
        return ReactAction(tool, strip_fences(arguments), text[: action.end()].rstrip())
    if final is not None:
        return ReactFinal(final.group("answer").strip())
    return None
