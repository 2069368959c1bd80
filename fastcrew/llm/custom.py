"""Agents' calls to LLMs that are not a plain :class:`LLM`: CrewAI-style custom LLMs
(``call`` / ``acall`` returning text, a pydantic model or tool calls) and LLM subclasses
that override ``call`` / ``acall``. Their answers become a :class:`ChatResponse`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._json import dumps
from ..process_runtime import get_runtime
from .client import LLM
from .types import ChatResponse, Usage

__all__ = ["answer_of", "call_custom", "chat_method"]

_NOT_RUN = object()


def _is(obj: Any, name: str, fn: Callable[..., Any]) -> bool:
    return getattr(getattr(obj, name, None), "__func__", None) is fn


def chat_method(llm: Any) -> Callable[..., Any] | None:
    """The LLM's rich ``achat`` when agents should use it: a plain :class:`LLM` (or a
    subclass that keeps its ``call`` and ``acall``) or any object with an ``achat``. None
    when the LLM answers through CrewAI's ``call`` / ``acall``."""
    achat = getattr(llm, "achat", None)
    if achat is None:
        return None
    if isinstance(llm, LLM) and not (_is(llm, "acall", LLM.acall) and _is(llm, "call", LLM.call)):
        return None
    return achat


async def call_custom(
    llm: Any,
    messages: Sequence[Mapping[str, Any]],
    *,
    tools: list[dict[str, Any]] | None = None,
    response_model: Any = None,
) -> ChatResponse:
    """One answer from a CrewAI-style LLM, with CrewAI's keywords: its ``acall`` when it has
    a working one, else its sync ``call`` in the runtime's thread pool (a custom LLM whose
    ``acall`` raises ``NotImplementedError``, or an LLM subclass that overrides only ``call``).
    The LLM gets a copy of the messages (some rewrite them in place)."""
    kwargs: dict[str, Any] = {
        "tools": tools,
        "callbacks": [],
        "available_functions": None,
        "from_task": None,
        "from_agent": None,
        "response_model": response_model,
    }
    copy = [dict(m) for m in messages]
    result: Any = _NOT_RUN
    acall = getattr(llm, "acall", None)
    sync_only = isinstance(llm, LLM) and _is(llm, "acall", LLM.acall)
    if callable(acall) and not sync_only:
        try:
            result = await acall(copy, **kwargs)
        except NotImplementedError:
            if not callable(getattr(llm, "call", None)):
                raise
    if result is _NOT_RUN:
        result = await get_runtime().run_in_thread(llm.call, copy, **kwargs)
    return answer_of(result)


def answer_of(result: Any) -> ChatResponse:
    """A :class:`ChatResponse` from what a custom LLM returned: text, a pydantic model or a
    dict (its JSON), a list of OpenAI tool calls (dicts or ``openai`` SDK objects), a
    ChatResponse or an object with ``content`` (and ``usage`` / ``tool_calls``)."""
    if isinstance(result, ChatResponse):
        return result
    if isinstance(result, str):
        return ChatResponse(content=result)
    if result is None:
        return ChatResponse(content="")
    if isinstance(result, Mapping):  # a structured answer as a dict: its JSON
        return ChatResponse(content=dumps(result).decode())
    if isinstance(result, list) and result and all(_looks_like_call(c) for c in result):
        calls = [_tool_call(c, i) for i, c in enumerate(result)]
        return ChatResponse(content="", finish_reason="tool_calls", tool_calls=calls)
    dump = getattr(result, "model_dump_json", None)
    if callable(dump):
        return ChatResponse(content=str(dump()))
    content = getattr(result, "content", None)
    if isinstance(content, str):
        usage = getattr(result, "usage", None)
        raw_calls = getattr(result, "tool_calls", None) or []
        return ChatResponse(
            content=content,
            usage=usage if isinstance(usage, Usage) else Usage(),
            tool_calls=[_tool_call(c, i) for i, c in enumerate(raw_calls)] or None,
        )
    return ChatResponse(content=str(result))


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _looks_like_call(obj: Any) -> bool:
    return _field(_field(obj, "function"), "name") is not None


def _tool_call(obj: Any, index: int) -> dict[str, Any]:
    """One tool call in OpenAI's wire shape (arguments as a JSON string, an id always)."""
    function = _field(obj, "function")
    arguments = _field(function, "arguments")
    if not isinstance(arguments, str):
        arguments = dumps(arguments or {}).decode()
    return {
        "id": _field(obj, "id") or f"call_{index}",
        "type": "function",
        "function": {"name": _field(function, "name"), "arguments": arguments},
    }
