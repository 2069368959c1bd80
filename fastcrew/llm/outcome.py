"""What CrewAI's ``LLM.call`` returns, made from a :class:`ChatResponse`.

In order: tool calls with no ``available_functions`` → the calls themselves
(:class:`ToolCall`); tool calls whose function is available → the first function's result
as text (a function that is missing or raises is skipped, and the answer's text is returned
instead); a pydantic ``response_model`` / ``response_format`` → the validated model; else
the text, cut at the first stop word.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from .._json import loads
from ..process_runtime import get_runtime
from ..tools.invoke import strip_fences
from .types import ChatResponse, ToolCall

__all__ = ["apply_stop_words", "call_outcome", "is_model_class", "openai_tools", "run_function"]

log = logging.getLogger("fastcrew.llm")


def is_model_class(value: Any) -> bool:
    """Whether ``value`` is a pydantic model class (a structured-output schema)."""
    return isinstance(value, type) and issubclass(value, BaseModel)


def openai_tools(tools: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Tool schemas in OpenAI's format; a flat ``{"name", "description", "parameters"}`` is
    wrapped as ``{"type": "function", "function": {...}}`` (CrewAI accepts both)."""
    return [
        tool
        if "function" in tool
        else {
            "type": "function",
            "function": {k: tool[k] for k in ("name", "description", "parameters") if k in tool},
        }
        for tool in tools
    ]


def apply_stop_words(text: str, stop: Sequence[str]) -> str:
    """``text`` cut at the earliest occurrence of any stop word and stripped (as CrewAI does
    client-side, whatever the provider did with ``stop``); unchanged when none occurs."""
    cut = min((i for word in stop if word and (i := text.find(word)) >= 0), default=-1)
    return text if cut < 0 else text[:cut].strip()


async def run_function(fn: Callable[..., Any], name: str, arguments: str | None) -> str | None:
    """Run one available function with the JSON ``arguments`` the model gave; its result as
    text, or None when the arguments do not parse or the function raises (logged)."""
    try:
        args = loads(arguments or "{}")
    except ValueError as exc:
        log.error("tool %r: arguments are not valid JSON: %s", name, exc)
        return None
    if not isinstance(args, dict):
        log.error("tool %r: arguments are not a JSON object", name)
        return None
    try:
        if inspect.iscoroutinefunction(fn):
            result = await fn(**args)
        else:  # a blocking function must not stall the loop
            result = await get_runtime().run_in_thread(fn, **args)
            if inspect.isawaitable(result):
                result = await result
    except Exception as exc:
        log.error("error executing function %r: %s", name, exc)
        return None
    return result if isinstance(result, str) else str(result)


async def call_outcome(
    resp: ChatResponse,
    *,
    available_functions: Mapping[str, Callable[..., Any]] | None,
    schema: type[BaseModel] | None,
    strict: bool,
    stop: Sequence[str],
    streamed: bool,
) -> Any:
    """CrewAI's result of one call (see the module docstring). ``strict``: a schema given
    per call (``response_model``), whose invalid answer raises; an LLM-wide
    ``response_format`` falls back to the text with a warning. A non-streamed answer runs
    only its first tool call, a streamed one tries each in turn (as CrewAI does)."""
    if resp.tool_calls:
        if not available_functions:
            return [ToolCall(call) for call in resp.tool_calls]
        for call in resp.tool_calls if streamed else resp.tool_calls[:1]:
            function = call.get("function") or {}
            name = function.get("name")
            fn = available_functions.get(name) if isinstance(name, str) else None
            if fn is None or not isinstance(name, str):
                log.warning("function %r not found in available functions", name)
                continue
            result = await run_function(fn, name, function.get("arguments"))
            if result is not None:
                return result
    text = resp.content or ""
    if schema is not None:
        try:
            return schema.model_validate_json(strip_fences(text))
        except ValidationError as exc:
            if strict:
                raise
            log.warning("structured output validation failed: %s", exc)
    return apply_stop_words(text, stop)
