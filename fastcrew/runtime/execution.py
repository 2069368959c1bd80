"""Running one task or one direct agent call: prompts, LLM calls, structured output,
guardrails, timeouts. All per-run state lives in a :class:`Run`, never on the templates.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from ..core import get_runtime
from ..errors import ExecutionTimeoutError, GuardrailError, OutputValidationError, TaskError
from ..limits import Lease, Limiter
from ..llm.types import ChatResponse
from .outputs import OutputFormat, TaskOutput, UsageMetrics, fast_model
from .prompts import (
    agent_system_prompt,
    guardrail_check_prompt,
    guardrail_retry_prompt,
    join_context,
    repair_prompt,
    task_prompt,
)
from .rendering import render
from .streaming import Emit, StreamChunk

if TYPE_CHECKING:
    from .agent import Agent
    from .task import Task

__all__ = ["Run", "answer", "call_with_timeout", "context_text", "maybe_await", "run_task"]

Message = dict[str, Any]
log = logging.getLogger("fastcrew.runtime")


_system_prompts: dict[tuple[str, str, str], str] = {}
_MAX_CACHED = 1024


def _system_prompt(role: str, goal: str, backstory: str) -> str:
    """The system prompt, shared between runs when the agent's text does not change."""
    key = (role, goal, backstory)
    found = _system_prompts.get(key)
    if found is None:
        if len(_system_prompts) >= _MAX_CACHED:
            _system_prompts.clear()
        found = _system_prompts[key] = agent_system_prompt(role, goal, backstory)
    return found


class Run:
    """The state of one kickoff: its inputs, its token usage, where its chunks go."""

    __slots__ = (
        "_systems",
        "cached",
        "caps",
        "completion",
        "emit",
        "input_index",
        "inputs",
        "prompt",
        "requests",
        "retries",
        "total",
    )

    def __init__(
        self,
        inputs: Mapping[str, Any],
        *,
        emit: Emit | None = None,
        input_index: int | None = None,
        caps: tuple[Limiter, ...] = (),
    ) -> None:
        self.inputs = inputs
        self.emit = emit
        self.input_index = input_index
        self.caps = caps
        self.total = self.prompt = self.cached = self.completion = self.requests = 0
        self.retries = 0
        self._systems: dict[int, tuple[str, str]] = {}

    def caps_for(self, agent: Agent) -> tuple[Limiter, ...]:
        """The narrower RPM caps a call of ``agent`` passes: the crew's and the agent's."""
        if agent.max_rpm is None:
            return self.caps
        return (*self.caps, get_runtime().cap(agent, agent.max_rpm))

    def add_usage(self, resp: ChatResponse) -> None:
        """Count one successful call of this run."""
        usage = resp.usage
        self.retries += resp.retries
        self.total += usage.total_tokens
        self.prompt += usage.prompt_tokens
        self.cached += usage.cached_prompt_tokens
        self.completion += usage.completion_tokens
        self.requests += 1

    @property
    def usage(self) -> UsageMetrics:
        """This run's token usage so far."""
        return fast_model(
            UsageMetrics,
            {
                "total_tokens": self.total,
                "prompt_tokens": self.prompt,
                "cached_prompt_tokens": self.cached,
                "completion_tokens": self.completion,
                "successful_requests": self.requests,
                "retries": self.retries,
            },
        )

    def agent_prompt(self, agent: Agent) -> tuple[str, str]:
        """(rendered role, system prompt) of ``agent`` for this run."""
        found = self._systems.get(id(agent))
        if found is None:
            where = f"agent {agent.role!r}"
            role = render(agent.role, self.inputs, f"the role of {where}")
            found = (
                role,
                _system_prompt(
                    role,
                    render(agent.goal, self.inputs, f"the goal of {where}"),
                    render(agent.backstory, self.inputs, f"the backstory of {where}"),
                ),
            )
            self._systems[id(agent)] = found
        return found


class _Meta:
    """What a chunk says about where it came from."""

    __slots__ = ("fields",)

    def __init__(self, **fields: Any) -> None:
        self.fields = fields

    def chunk(self, content: str) -> StreamChunk:
        return StreamChunk.model_construct(content=content, **self.fields)


async def maybe_await(value: Any) -> Any:
    """``await`` the value if it is awaitable (callbacks may be sync or async)."""
    if inspect.isawaitable(value):
        return await value
    return value


async def _call(
    run: Run,
    llm: Any,
    messages: list[Message],
    schema: Any,
    meta: _Meta | None,
    caps: tuple[Limiter, ...],
) -> Any:
    # Narrower max_rpm caps are taken before the call joins the shared budget's queue.
    # Inside the try: a cancel while waiting for a later cap must still settle earlier ones.
    leases: list[Lease] = []
    try:
        for cap in caps:
            leases.append(await cap.acquire(0))
        if meta is None or run.emit is None:
            resp = await llm.acall(messages, response_format=schema)
        else:
            emit = run.emit
            stream = await llm.acall(messages, response_format=schema, stream=True)
            async with stream:
                async for delta in stream:
                    if delta.content:
                        emit(meta.chunk(delta.content))
            resp = stream.response
    finally:
        for lease in leases:
            lease.settle(0)
    run.add_usage(resp)
    return resp


def _strip_fences(text: str) -> str:
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        if text.rstrip().endswith("```"):
            text = text.rstrip()[:-3]
    return text


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
    meta: _Meta | None,
    who: tuple[str | None, str | None] = (None, None),
    caps: tuple[Limiter, ...] = (),
) -> tuple[str, BaseModel | None, list[Message]]:
    """One answer (plus one repair request if structured output fails validation).

    Returns the raw text, the parsed model (or None) and the conversation including it.
    """
    resp = await _call(run, llm, messages, schema, meta, caps)
    raw = resp.content
    messages = [*messages, {"role": "assistant", "content": raw}]
    if schema is None:
        return raw, None, messages
    try:
        return raw, schema.model_validate_json(_strip_fences(raw)), messages
    except ValidationError as exc:
        first = exc
    messages.append({"role": "user", "content": repair_prompt(schema.__name__, _errors(first))})
    resp = await _call(run, llm, messages, schema, meta, caps)
    raw = resp.content
    messages.append({"role": "assistant", "content": raw})
    try:
        return raw, schema.model_validate_json(_strip_fences(raw)), messages
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


# -- tasks ----------------------------------------------------------------------------------


class _Verdict(BaseModel):
    valid: bool
    feedback: str = ""


Guard = Callable[[TaskOutput], Any]


def _task_label(task: Task, description: str) -> str:
    if task.name:
        return task.name
    return description if len(description) <= 60 else description[:57] + "..."


async def _check(
    guard: Guard | str,
    output: TaskOutput,
    run: Run,
    llm: Any,
    who: tuple[str, str],
    caps: tuple[Limiter, ...],
) -> tuple[bool, Any]:
    if isinstance(guard, str):
        messages: list[Message] = [
            {"role": "user", "content": guardrail_check_prompt(guard, output.raw)}
        ]
        _, verdict, _ = await answer(run, llm, messages, _Verdict, None, who, caps)
        assert isinstance(verdict, _Verdict)
        return (True, output) if verdict.valid else (False, verdict.feedback or "rejected")
    result = await maybe_await(guard(output))
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(
            f"the guardrail of task {who[0]!r} must return (ok, value_or_feedback), not {result!r}"
        )
    return bool(result[0]), result[1]


def _accept(output: TaskOutput, value: Any) -> TaskOutput:
    """Apply what a passing guardrail returned (a new output, text, model or dict)."""
    if isinstance(value, TaskOutput):
        return value
    if isinstance(value, str):
        return output.model_copy(update={"raw": value})
    if isinstance(value, BaseModel):
        return output.model_copy(update={"pydantic": value, "raw": value.model_dump_json()})
    if isinstance(value, dict):
        return output.model_copy(update={"json_dict": value})
    return output


def _write_file(path: str, text: str, create: bool) -> None:
    target = Path(path)
    if create:
        target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def _file_text(output: TaskOutput) -> str:
    if output.output_format is OutputFormat.JSON and output.json_dict is not None:
        return json.dumps(output.json_dict, ensure_ascii=False, indent=2)
    if output.output_format is OutputFormat.PYDANTIC and output.pydantic is not None:
        return output.pydantic.model_dump_json(indent=2)
    return output.raw


async def run_task(
    run: Run,
    task: Task,
    index: int,
    context: str,
    task_callback: Callable[[TaskOutput], Any] | None = None,
) -> TaskOutput:
    """Run one task for one run and return its output (callbacks and file included)."""
    agent = task.agent
    assert agent is not None  # the Crew checked this
    inputs = run.inputs
    description = render(task.description, inputs, f"the description of task {index}")
    label = _task_label(task, description)
    expected = render(task.expected_output, inputs, f"the expected_output of task {label!r}")
    role, system = run.agent_prompt(agent)
    who = (label, role)
    if agent.verbose:
        log.info("agent %r: starting task %r", role, label)
    try:
        output = await call_with_timeout(
            _attempts(run, task, index, agent, description, expected, context, system, who),
            agent.max_execution_time,
            who,
        )
        if task.callback is not None:
            await maybe_await(task.callback(output))
        if task_callback is not None:
            await maybe_await(task_callback(output))
        if task.output_file:
            path = render(task.output_file, inputs, f"the output_file of task {label!r}")
            await get_runtime().run_in_thread(
                _write_file, path, _file_text(output), task.create_directory is not False
            )
        if agent.verbose:
            log.info("agent %r: finished task %r:\n%s", role, label, output.raw)
    except Exception as exc:
        if not isinstance(exc, TaskError):
            note = f"while running task {label!r} (agent {role!r})"
            if note not in getattr(exc, "__notes__", ()):
                exc.add_note(note)
        raise
    return output


async def _attempts(
    run: Run,
    task: Task,
    index: int,
    agent: Agent,
    description: str,
    expected: str,
    context: str,
    system: str,
    who: tuple[str, str],
) -> TaskOutput:
    schema, fmt = task.output_schema()
    prompt = task_prompt(
        description,
        expected,
        context,
        markdown=bool(task.markdown),
        structured=schema.__name__ if schema is not None else None,
    )
    messages: list[Message] = [
        {"role": "system", "content": system},
        {"role": "user", "content": prompt},
    ]
    meta = None
    if run.emit is not None:
        meta = _Meta(
            task_index=index,
            task_name=task.name or description,
            task_id=str(task.id),
            agent_role=who[1],
            agent_id=str(agent.id),
            input_index=run.input_index,
        )
    llm = agent.llm
    caps = run.caps_for(agent)
    guards = task.guardrail_list()
    retries = 0
    while True:
        raw, model, messages = await answer(run, llm, messages, schema, meta, who, caps)
        output = TaskOutput.build(
            description=description,
            name=task.name,
            expected_output=expected,
            raw=raw,
            agent=who[1],
            output_format=fmt,
            pydantic=model if fmt is OutputFormat.PYDANTIC else None,
            json_dict=model.model_dump() if fmt is OutputFormat.JSON and model else None,
            messages=messages,
        )
        feedback = None
        for guard in guards:
            ok, value = await _check(guard, output, run, llm, who, caps)
            if not ok:
                feedback = str(value)
                break
            output = _accept(output, value)
        if feedback is None:
            return output
        if retries >= task.guardrail_max_retries:
            raise GuardrailError(
                f"task {who[0]!r} failed its guardrail after {retries} "
                f"{'retry' if retries == 1 else 'retries'}: {feedback}",
                task=who[0],
                agent=who[1],
            )
        retries += 1
        messages = [*messages, {"role": "user", "content": guardrail_retry_prompt(feedback)}]


def context_text(outputs: Sequence[TaskOutput]) -> str:
    """Join earlier outputs into the context block of a prompt."""
    return join_context([o.raw for o in outputs])
