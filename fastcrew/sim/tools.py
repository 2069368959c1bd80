"""Tool-call answers: which offered tools to call, their arguments, and broken arguments.

Rules (also in docs/simulator.md):

- ``tool_choice`` ``"none"`` → no call. A named function → exactly one call of it, every
  time. ``"required"`` → calls, whatever the rounds. ``"auto"`` → calls while the
  conversation holds fewer than ``tool_rounds`` assistant messages with ``tool_calls``.
- A round calls ``min(parallel_calls, len(tools))`` distinct tools (one when
  ``parallel_tool_calls`` is false), walking the offered list from a start picked by the
  request's digest.
- Arguments are a sample instance of the tool's ``parameters`` schema (``schema.py``), seeded
  per call; the first free-form string is the start of the last user message.
- With ``malformed_args_rate`` a seeded share of calls get broken arguments: half invalid JSON
  (the valid text without its last character), half valid JSON that violates the schema (a
  required property left out, else a property of the wrong type, else an unexpected property
  when ``additionalProperties`` is false; invalid JSON when the schema admits anything).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._json import dumps
from .request import BadRequest, ChatRequest, ToolSpec, message_text
from .schema import SCHEMA_ERRORS, sample_instance

__all__ = [
    "ToolCall",
    "arg_text_of",
    "arguments_text",
    "break_arguments",
    "call_arguments",
    "new_tool_results",
    "plan_tool_calls",
    "sub_digest",
    "tool_index",
    "tool_results",
    "tool_rounds_done",
]

_ARG_TEXT_CHARS = 60


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call in an assistant message: its id, the tool's name and the arguments text."""

    id: str
    name: str
    arguments: str


def sub_digest(digest: str, index: int) -> str:
    """A digest for the ``index``-th call of an answer."""
    return hashlib.blake2b(f"{digest}:{index}".encode(), digest_size=16).hexdigest()


def tool_index(digest: str, count: int) -> int:
    """The index, among ``count`` tools, of the (first) tool an answer calls."""
    return int(digest[16:24], 16) % count


def tool_rounds_done(messages: Sequence[dict[str, Any]]) -> int:
    """Assistant messages that carry ``tool_calls`` (each one round)."""
    return sum(1 for m in messages if m.get("role") == "assistant" and m.get("tool_calls"))


def new_tool_results(messages: Sequence[dict[str, Any]]) -> int:
    """``role: tool`` messages after the last assistant message (each result counted once)."""
    count = 0
    for message in reversed(messages):
        role = message.get("role")
        if role == "assistant":
            break
        if role == "tool":
            count += 1
    return count


def tool_results(messages: Sequence[dict[str, Any]], width: int) -> list[str]:
    """Every tool result of the conversation as ``"name: text"`` (text collapsed, cut)."""
    names: dict[str, str] = {}
    quotes: list[str] = []
    for message in messages:
        role = message.get("role")
        if role == "assistant":
            for call in message.get("tool_calls") or ():
                if isinstance(call, dict) and isinstance(call.get("function"), dict):
                    names[str(call.get("id"))] = str(call["function"].get("name", "tool"))
        elif role == "tool":
            name = names.get(message.get("tool_call_id", ""), message.get("name") or "tool")
            text = " ".join(message_text(message.get("content"))[: width * 2 + 16].split())
            quotes.append(f"{name}: {text[:width]}")
    return quotes


def call_arguments(spec_schema: Any, text: str, digest: str) -> dict[str, Any]:
    """Valid arguments for a tool whose ``parameters`` schema is ``spec_schema``."""
    value = sample_instance(spec_schema, text, digest)
    return value if isinstance(value, dict) else {}


def _wrong_value(schema: Any) -> tuple[bool, Any]:
    """(found, a value of the wrong type for ``schema``)."""
    if not isinstance(schema, dict):
        return False, None
    if schema.get("enum"):
        return True, "sim-not-a-member"
    kind = schema.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()
    if not kinds:
        return False, None
    if "string" not in kinds:
        return True, "sim-wrong-type"
    if not kinds & {"integer", "number"}:
        return True, 12345
    return False, None


def break_arguments(schema: Any, valid: dict[str, Any], text: str, violate: bool) -> str:
    """Broken arguments text: schema-violating JSON when ``violate`` and possible, else bad JSON."""
    if violate and isinstance(schema, dict):
        required = [r for r in schema.get("required") or () if r in valid]
        if required:
            return dumps({k: v for k, v in valid.items() if k != required[0]}).decode()
        for name, sub in (schema.get("properties") or {}).items():
            found, wrong = _wrong_value(sub)
            if found:
                return dumps({**valid, name: wrong}).decode()
        if schema.get("additionalProperties") is False:
            return dumps({**valid, "sim_unexpected_field": 1}).decode()
    return text[:-1]


def plan_tool_calls(
    request: ChatRequest,
    digest: str,
    *,
    tool_rounds: int,
    parallel_calls: int,
    malformed_rate: float,
    arg_text: str,
) -> tuple[ToolCall, ...]:
    """The calls this request is answered with; empty for a text answer."""
    tools = request.tools
    choice = request.tool_choice
    if not tools or choice == "none":
        return ()
    chosen: list[ToolSpec]
    if choice.startswith("function:"):
        name = choice.removeprefix("function:")
        chosen = [spec for spec in tools if spec.name == name]
    else:
        if choice == "auto" and tool_rounds_done(request.messages) >= tool_rounds:
            return ()
        count = min(parallel_calls, len(tools)) if request.parallel_tool_calls else 1
        start = tool_index(digest, len(tools))
        chosen = [tools[(start + i) % len(tools)] for i in range(count)]
    calls = []
    for i, spec in enumerate(chosen):
        sub = sub_digest(digest, i)
        try:
            arguments = arguments_text(
                spec.parameters, arg_text or f"sim-{sub[:8]}", sub, malformed_rate
            )
        except SCHEMA_ERRORS as exc:
            where = f"tools[{tools.index(spec)}].function.parameters"
            raise BadRequest(f"Invalid schema for '{where}': {exc!s}", where) from None
        calls.append(ToolCall(id=f"call_{sub[:24]}", name=spec.name, arguments=arguments))
    return tuple(calls)


def arguments_text(schema: Any, text: str, digest: str, malformed_rate: float) -> str:
    """The arguments JSON of one call (broken for a seeded share ``malformed_rate``)."""
    valid = call_arguments(schema, text, digest)
    encoded = dumps(valid).decode()
    if malformed_rate > 0 and int(digest[16:24], 16) / 2**32 < malformed_rate:
        return break_arguments(schema, valid, encoded, violate=int(digest[24], 16) % 2 == 0)
    return encoded


def arg_text_of(echo: str) -> str:
    """The first free-form string of generated arguments: the start of the user's message."""
    return echo[:_ARG_TEXT_CHARS].rstrip()
