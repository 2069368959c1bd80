"""The agent loop with tools: ask the model, run the tools it calls, hand the results back,
until it answers — at most ``max_iter`` steps, then it is asked for its best final answer.

Two ways to talk tools, one loop shape:

- **native** function calling (OpenAI ``tools`` / ``tool_calls`` / ``role: tool``), the
  default for OpenAI-compatible endpoints; several calls in one assistant message run
  concurrently;
- the **ReAct** text format (``Action:`` / ``Action Input:`` / ``Observation:`` /
  ``Final Answer:``) when the LLM says ``supports_function_calling() is False`` — or the
  provider rejects ``tools``, after which that LLM stays on ReAct.

Every step is one :func:`~fastcrew.runtime.calls.call_llm`: caps, the shared budget, usage
counted in the run, streamed when the run streams. The final answer goes through the same
structured-output validation (and one repair request) as an answer without tools.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ...errors import BadRequestError
from ...limits import Limiter
from ..calls import Message, answer, call_llm, validate
from ..run_state import Meta, Run
from .react import (
    FORMAT_REMINDER,
    ReactAction,
    ReactFinal,
    observation,
    parse_react,
)
from .toolbox import Toolbox

__all__ = ["act", "current_run"]

current_run: contextvars.ContextVar[Run | None] = contextvars.ContextVar(
    "fastcrew_current_run", default=None
)
"""The run whose tools are executing (delegation tools start nested agent calls in it)."""

Result = tuple[str, BaseModel | None, list[Message]]

_LAST_STEP = (
    "You have used all the steps you had for this task. Do not call any tool now: reply "
    "with your best complete final answer from what you have."
)


def uses_native_tools(llm: Any) -> bool:
    """Whether ``llm`` takes OpenAI ``tools`` (an LLM without the method is assumed to)."""
    supports = getattr(llm, "supports_function_calling", None)
    return True if supports is None else bool(supports())


@dataclass(slots=True, frozen=True)
class _Turn:
    """One answer with tools: who answers, with what, under which caps."""

    run: Run
    llm: Any
    toolbox: Toolbox
    schema: type[BaseModel] | None
    meta: Meta | None
    who: tuple[str | None, str | None]
    caps: tuple[Limiter, ...]

    async def ask(self, messages: list[Message], schema: Any, **extra: Any) -> Any:
        """One step: a call through the caps and the budget (``extra``: tools, tool_choice)."""
        return await call_llm(self.run, self.llm, messages, schema, self.meta, self.caps, **extra)

    async def finish(self, messages: list[Message], raw: str) -> Result:
        """The final answer, through structured output (one repair request) as without tools."""
        return await validate(
            self.run, self.llm, messages, raw, self.schema, self.meta, self.who, self.caps
        )


async def act(
    run: Run,
    llm: Any,
    messages: list[Message],
    toolbox: Toolbox,
    schema: type[BaseModel] | None,
    meta: Meta | None,
    who: tuple[str | None, str | None],
    caps: tuple[Limiter, ...],
    max_iter: int,
) -> Result:
    """Answer with tools; returns (raw, parsed model or None, the whole conversation)."""
    await toolbox.load()
    if not toolbox.tools:  # MCP servers whose filters left no tool
        return await answer(run, llm, messages, schema, meta, who, caps)
    turn = _Turn(run, llm, toolbox, schema, meta, who, caps)
    token = current_run.set(run)
    try:
        if uses_native_tools(llm):
            try:
                return await _native(turn, messages, max_iter)
            except BadRequestError as exc:
                if "tool" not in str(exc).lower():
                    raise
                refuse = getattr(llm, "refuse_function_calling", None)
                if refuse is not None:
                    refuse()  # this provider takes no `tools`: ReAct from now on
        return await _react(turn, messages, max_iter)
    finally:
        current_run.reset(token)


async def _native(turn: _Turn, messages: list[Message], max_iter: int) -> Result:
    specs = turn.toolbox.specs()
    for _ in range(max_iter):
        resp = await turn.ask(messages, turn.schema, tools=specs)
        calls = resp.tool_calls
        if not calls:
            messages = [*messages, {"role": "assistant", "content": resp.content}]
            return await turn.finish(messages, resp.content)
        messages = [
            *messages,
            {"role": "assistant", "content": resp.content or None, "tool_calls": calls},
        ]
        observations = await turn.toolbox.call_all(calls)
        messages.extend(
            {"role": "tool", "tool_call_id": o.call_id, "content": o.text} for o in observations
        )
        final = next((o for o in observations if o.as_answer), None)
        if final is not None:  # result_as_answer: the tool's result is the answer
            return await turn.finish(messages, final.text)
    messages = [*messages, {"role": "user", "content": _LAST_STEP}]
    resp = await turn.ask(messages, turn.schema, tools=specs, tool_choice="none")
    messages.append({"role": "assistant", "content": resp.content})
    return await turn.finish(messages, resp.content)


def _with_instructions(messages: list[Message], toolbox: Toolbox) -> list[Message]:
    instructions = toolbox.react_prompt()
    if messages and messages[0].get("role") == "system":
        content = messages[0].get("content") or ""
        if instructions in content:  # a guardrail retry goes on with the same conversation
            return messages
        system = dict(messages[0])
        system["content"] = f"{content}\n\n{instructions}"
        return [system, *messages[1:]]
    return [{"role": "system", "content": instructions}, *messages]


async def _react(turn: _Turn, messages: list[Message], max_iter: int) -> Result:
    messages = _with_instructions(messages, turn.toolbox)
    for step in range(max_iter):
        resp = await turn.ask(messages, None)
        parsed = parse_react(resp.content)
        if isinstance(parsed, ReactFinal):
            messages = [*messages, {"role": "assistant", "content": resp.content}]
            return await turn.finish(messages, parsed.answer)
        if not isinstance(parsed, ReactAction):
            messages = [
                *messages,
                {"role": "assistant", "content": resp.content},
                {"role": "user", "content": FORMAT_REMINDER},
            ]
            continue
        seen = await turn.toolbox.call(f"react-{step}", parsed.tool, parsed.arguments)
        messages = [
            *messages,
            {"role": "assistant", "content": parsed.text},
            {"role": "user", "content": observation(seen.text)},
        ]
        if seen.as_answer:
            return await turn.finish(messages, seen.text)
    last = f"{_LAST_STEP} Use the Final Answer format."
    messages = [*messages, {"role": "user", "content": last}]
    resp = await turn.ask(messages, None)
    messages.append({"role": "assistant", "content": resp.content})
    parsed = parse_react(resp.content)
    return await turn.finish(
        messages, parsed.answer if isinstance(parsed, ReactFinal) else resp.content
    )
