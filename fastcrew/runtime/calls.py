"""One LLM answer inside a run: the call through the caps and the shared budget (streamed
when the run streams), structured output with one repair request, timeouts that cancel."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import ExecutionTimeoutError, OutputValidationError
from ..limits import Lease, Limiter
from ..llm.custom import call_custom, chat_method
from ..tools.invoke import strip_fences
from .prompts import repair_prompt
from .run_state import Meta, Run

__all__ = ["Message", "answer", "call_llm", "call_with_timeout", "maybe_await", "validate"]

Message = dict[str, Any]


async def maybe_await(value: Any) -> Any:
    """``await`` the value if it is awaitable (callbacks may be sync or async)."""
    if inspect.isawaitable(value):
        return await value
    return value


async def call_llm(
    run: Run,
    llm: Any,
    messages: list[Message],
    schema: Any,
    meta: Meta | None,
    caps: tuple[Limiter, ...],
    **extra: Any,
) -> Any:
    """One LLM call of the run: through the caps, then the LLM's shared budget; streamed
    (text chunks, then one chunk per tool call) when the run streams. ``extra`` goes into
    the request body (``tools``, ``tool_choice``). A fastcrew LLM answers through ``achat``;
    a CrewAI-style custom LLM through its ``acall`` or, in the thread pool, its ``call``."""
    # Narrower max_rpm caps are taken before the call joins the shared budget's queue.
    # Inside the try: a cancel while waiting for a later cap must still settle earlier ones.
    leases: list[Lease] = []
    try:
        for cap in caps:
            leases.append(await cap.acquire(0))
        achat = chat_method(llm)
        if achat is None:  # a CrewAI-style custom LLM: call / acall (no tool_choice there)
            tools = None if extra.get("tool_choice") == "none" else extra.get("tools")
            resp = await call_custom(llm, messages, tools=tools, response_model=schema)
            if meta is not None and run.emit is not None:
                if resp.content:
                    run.emit(meta.chunk(resp.content))
                for index, call in enumerate(resp.tool_calls or ()):
                    run.emit(meta.tool_chunk(call, index))
        elif meta is None or run.emit is None:
            resp = await achat(messages, response_format=schema, **extra)
        else:
            emit = run.emit
            stream = await achat(messages, response_format=schema, stream=True, **extra)
            async with stream:
                async for delta in stream:
                    if delta.content:
                        emit(meta.chunk(delta.content))
            resp = stream.response
            for index, call in enumerate(resp.tool_calls or ()):
                emit(meta.tool_chunk(call, index))
    finally:
        for lease in leases:
            lease.settle(0)
    run.add_usage(resp)
    return resp


def _errors(exc: ValidationError) -> str:
    return "\n".join(
        f"- {'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
        for err in exc.errors()[:20]
    )


async def answer(
    run: Run,
    llm: Any,
    messages: list[Message],
    schema: type[BaseModel] | None,
    meta: Meta | None,
    who: tuple[str | None, str | None] = (None, None),
    caps: tuple[Limiter, ...] = (),
) -> tuple[str, BaseModel | None, list[Message]]:
    """One answer (plus one repair request if structured output fails validation).

    Returns the raw text, the parsed model (or None) and the conversation including it.
    """
    resp = await call_llm(run, llm, messages, schema, meta, caps)
    messages = [*messages, {"role": "assistant", "content": resp.content}]
    return await validate(run, llm, messages, resp.content, schema, meta, who, caps)


async def validate(
    run: Run,
    llm: Any,
    messages: list[Message],
    raw: str,
    schema: type[BaseModel] | None,
    meta: Meta | None,
    who: tuple[str | None, str | None],
    caps: tuple[Limiter, ...],
) -> tuple[str, BaseModel | None, list[Message]]:
    """Parse a final answer into ``schema``; on failure ask once more (a repair request)."""
    if schema is None:
        return raw, None, messages
    try:
        return raw, schema.model_validate_json(strip_fences(raw)), messages
    except ValidationError as exc:
        first = exc
    messages = [
        *messages,
        {"role": "user", "content": repair_prompt(schema.__name__, _errors(first))},
    ]
    resp = await call_llm(run, llm, messages, schema, meta, caps)
    raw = resp.content
    messages.append({"role": "assistant", "content": raw})
    try:
        return raw, schema.model_validate_json(strip_fences(raw)), messages
    except ValidationError as exc:
        task, agent = who
        raise OutputValidationError(
            f"the answer is not a valid {schema.__name__} even after one repair request:\n"
            f"{_errors(exc)}",
            task=task,
            agent=agent,
        ) from exc


async def call_with_timeout(
    coro: Awaitable[Any], seconds: float | None, who: tuple[str | None, str | None]
) -> Any:
    """Await ``coro``, cancelling it after ``seconds`` (None: no limit)."""
    if seconds is None:
        return await coro
    scope = asyncio.timeout(seconds)
    try:
        async with scope:
            return await coro
    except TimeoutError as exc:
        if not scope.expired():
            raise  # a timeout of the LLM call itself, not ours
        task, agent = who
        target = f"task {task!r}" if task else "the call"
        raise ExecutionTimeoutError(
            f"agent {agent!r} exceeded its max_execution_time of {seconds:g} s on {target}; "
            "the work in flight was cancelled",
            task=task,
            agent=agent,
        ) from exc
