"""ReAct text answers (CrewAI's "Thought / Action / Action Input / Observation / Final Answer").

The exact convention (docs/simulator.md, "ReAct prompts", is the reference):

- A request is a ReAct request when it has no ``tools``, its ``response_format`` is text, and
  a system / developer / user message (the *prompt message*) contains ``Action Input:`` and at
  least one line ``Tool Name: <name>``.
- Each tool is the block starting at its ``Tool Name:`` line. In it, ``Tool Arguments:`` is
  followed by a JSON schema object (one line or indented over several, as CrewAI writes it) or
  the older Python-literal mapping ``{'arg': {'description': ..., 'type': 'str'}}``;
  ``Tool Description:`` is read as text. A tool without arguments takes ``{}``.
- An observation is a line starting with ``Observation:`` that comes after an ``Action:``
  line naming one of the listed tools (in the same message or an earlier one, any role); its
  text runs to the next ``Thought:`` / ``Action:`` / ``Final Answer:`` line or the message end.
- While fewer than ``tool_rounds`` observations were seen, the answer is an action::

      Thought: I should use the <name> tool (simulated <8-hex>).
      Action: <name>
      Action Input: {"arg": "..."}

  else (or when the last message is not the prompt message and mentions "final answer")::

      Thought: I have what I need to answer
      Final Answer: Simulated answer <8-hex> to: <echo> | observations: <obs 1>; <obs 2>
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from .request import ChatRequest, ToolSpec, message_text

__all__ = [
    "find_react_prompt",
    "observations",
    "parse_arguments",
    "react_prompt_tools",
    "wants_final_answer",
]

_PROMPT_ROLES = frozenset({"system", "developer", "user"})
_TOOL_NAME = re.compile(r"^[ \t]*Tool Name:[ \t]*(\S[^\n]*?)[ \t]*$", re.M)
_ARGS = re.compile(r"^[ \t]*Tool Arguments:[ \t]*", re.M)
_DESCRIPTION = re.compile(r"^[ \t]*Tool Description:[ \t]*([^\n]*)", re.M)
_ACTION = re.compile(r"^[ \t]*Action:[ \t]*(.*?)[ \t]*$")
_STOPS = ("Thought:", "Action:", "Final Answer:", "Action Input:")
_PY_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
}


def find_react_prompt(request: ChatRequest) -> int | None:
    """Index of the prompt message of a ReAct request, or None."""
    if request.tools is not None or request.format_kind != "text":
        return None
    for i, message in enumerate(request.messages):
        content = message.get("content")
        text = content if type(content) is str else message_text(content)
        if (
            "Action Input:" in text
            and "Tool Name:" in text
            and message.get("role") in _PROMPT_ROLES
            and _TOOL_NAME.search(text)
        ):
            return i
    return None


def _balanced(text: str, start: int) -> str | None:
    """The ``{...}`` starting at ``text[start]``, respecting quoted strings."""
    depth = 0
    quote: str | None = None
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
        i += 1
    return None


def _legacy_schema(mapping: dict[str, Any]) -> dict[str, Any]:
    """``{'arg': {'description': ..., 'type': 'str'}}`` → a JSON schema."""
    properties: dict[str, Any] = {}
    for name, info in mapping.items():
        kind = info.get("type") if isinstance(info, dict) else None
        base = str(kind).split("[", 1)[0].strip().lower() if kind else "str"
        properties[str(name)] = {"type": _PY_TYPES.get(base, "string")}
    return {"type": "object", "properties": properties, "required": list(properties)}


def parse_arguments(block: str) -> dict[str, Any]:
    """The argument schema of one tool block (``{}``-taking when absent or unreadable)."""
    empty: dict[str, Any] = {"type": "object", "properties": {}}
    found = _ARGS.search(block)
    if found is None:
        return empty
    start = block.find("{", found.end())
    if start < 0:
        return empty
    text = _balanced(block, start)
    if text is None:
        return empty
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return empty
        return _legacy_schema(value) if isinstance(value, dict) else empty
    if not isinstance(value, dict):
        return empty
    if "properties" in value or value.get("type") == "object" or "$defs" in value:
        return value
    if all(isinstance(v, dict) and "type" in v for v in value.values()):
        return _legacy_schema(value)  # {"arg": {"type": "str"}} written as JSON
    return empty


@lru_cache(maxsize=256)
def react_prompt_tools(text: str) -> tuple[ToolSpec, ...]:
    """The tools listed in a prompt, in order (cached: a crew sends the same prompt again and
    again; callers must not mutate the shared ``parameters`` schemas)."""
    matches = list(_TOOL_NAME.finditer(text))
    tools = []
    for k, match in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(text)
        block = text[match.start() : end]
        described = _DESCRIPTION.search(block)
        tools.append(
            ToolSpec(
                name=match.group(1),
                description=described.group(1).strip() if described else "",
                parameters=parse_arguments(block),
            )
        )
    return tuple(tools)


def observations(messages: Sequence[dict[str, Any]], start: int, names: set[str]) -> list[str]:
    """Observation texts in ``messages[start:]`` that follow an action naming a listed tool."""
    found: list[str] = []
    armed = False
    for message in messages[start:]:
        text = message_text(message.get("content"))
        if "Observation:" not in text and "Action:" not in text:
            continue
        current: list[str] | None = None
        for line in text.splitlines():
            stripped = line.strip()
            if current is not None:
                if stripped.startswith(_STOPS):
                    found.append(" ".join(" ".join(current).split()))
                    current = None
                else:
                    current.append(stripped)
                    continue
            action = _ACTION.match(line)
            if action is not None:
                armed = action.group(1) in names
            elif stripped.startswith("Observation:") and armed:
                armed = False
                current = [stripped.removeprefix("Observation:")]
        if current is not None:
            found.append(" ".join(" ".join(current).split()))
    return found


def wants_final_answer(messages: Sequence[dict[str, Any]], prompt_index: int) -> bool:
    """The last message (not the prompt message) asks for the final answer."""
    if len(messages) - 1 == prompt_index:
        return False
    return "final answer" in message_text(messages[-1].get("content")).lower()
