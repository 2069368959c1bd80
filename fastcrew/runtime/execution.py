"""Running one task for one run: prompts, the agent's answer (with its tools), structured
output, guardrails, callbacks, the output file. Per-run state lives in a :class:`Run`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..errors import GuardrailError, TaskError
from ..limits import Limiter
from ..memory.crews import task_memory
from ..process_runtime import get_runtime
from .acting import act, task_toolbox
from .calls import Message, answer, call_llm, call_with_timeout, maybe_await
from .output_file import check_rendered_path, file_text, write_file
from .outputs import OutputFormat, TaskOutput
from .prompts import (
    guardrail_check_prompt,
    guardrail_retry_prompt,
    join_context,
    knowledge_query_messages,
    memory_block,
    task_prompt,
)
from .rendering import render
from .run_state import Meta, Run
from .trace import Trace, trace_for

if TYPE_CHECKING:
    from .agent import Agent
    from .task import Task

__all__ = ["context_text", "memory_usage", "run_task"]


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


async def run_task(
    run: Run,
    task: Task,
    index: int,
    context: str,
    task_callback: Callable[[TaskOutput], Any] | None = None,
    *,
    agent: Agent | None = None,
    finish: bool = True,
) -> TaskOutput:
    """Run one task for one run and return its output.

    ``agent`` overrides the one that would do it (the manager, else ``task.agent``). With
    ``finish`` the guardrails, callbacks and ``output_file`` follow the answer; without, the
    output is the agent's answer alone (``Agent.execute_task``).
    """
    agent = agent or run.manager or task.agent
    assert agent is not None  # the Crew (or the caller) checked this
    inputs = run.inputs
    description = render(task.description, inputs, f"the description of task {index}")
    label = _task_label(task, description)
    expected = render(task.expected_output, inputs, f"the expected_output of task {label!r}")
    path = None
    if finish and task.output_file:
        where = f"the output_file of task {label!r}"
        path = check_rendered_path(render(task.output_file, inputs, where), task.output_file, where)
    role, system = run.agent_prompt(agent)
    who = (label, role)
    trace = trace_for(run, agent)
    if trace is not None:
        trace.task_started(index + 1, label, role, description)
    guards = task.guardrail_list() if finish else []
    memory = task_memory(agent, run.crew)
    with memory_usage(run, memory):  # the memory's LLM calls are the run's
        try:
            output = await call_with_timeout(
                _attempts(
                    run,
                    task,
                    index,
                    agent,
                    description,
                    expected,
                    context,
                    system,
                    who,
                    trace,
                    guards,
                    memory,
                ),
                agent.max_execution_time,
                who,
            )
            if trace is not None:
                trace.answer(role, output.raw)
            if memory is not None and output.raw:
                from ..memory.crews import asave_task

                await asave_task(memory, description, role, expected, output.raw)
                await memory.adrain_writes()  # what its tools saved in the background
            if not finish:
                return output
            if task.callback is not None:
                await maybe_await(task.callback(output))
            if task_callback is not None:
                await maybe_await(task_callback(output))
            if path is not None:
                await get_runtime().run_in_thread(
                    write_file, path, file_text(output), task.create_directory is not False
                )
        except Exception as exc:
            if trace is not None:
                trace.task_failed(label, exc)
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
    trace: Trace | None,
    guards: Sequence[Guard | str],
    memory: Any,
) -> TaskOutput:
    schema, fmt = task.output_schema()
    prompt = task_prompt(
        description,
        expected,
        context,
        markdown=bool(task.markdown),
        structured=schema.__name__ if schema is not None else None,
    )
    llm = agent.llm
    caps = run.caps_for(agent)
    if memory is not None:
        prompt = await _with_memory(memory, description, prompt)
    prompt = await _with_knowledge(run, agent, prompt, caps)
    messages: list[Message] = [
        {"role": "system", "content": system},
        {"role": "user", "content": prompt},
    ]
    meta = None
    if run.emit is not None:
        meta = Meta(
            task_index=index,
            task_name=task.name or description,
            task_id=str(task.id),
            agent_role=who[1],
            agent_id=str(agent.id),
            input_index=run.input_index,
        )
    toolbox = task_toolbox(run, agent, task, memory)
    if toolbox is not None:
        toolbox.trace = trace

    async def attempt(messages: list[Message]) -> TaskOutput:
        if toolbox is None:
            raw, model, messages = await answer(run, llm, messages, schema, meta, who, caps)
        else:
            raw, model, messages = await act(
                run, llm, messages, toolbox, schema, meta, who, caps, agent.max_iter
            )
        return TaskOutput.build(
            description=description,
            name=task.name or description,  # as in CrewAI
            expected_output=expected,
            raw=raw,
            agent=who[1],
            output_format=fmt,
            pydantic=model if fmt is OutputFormat.PYDANTIC else None,
            json_dict=model.model_dump() if fmt is OutputFormat.JSON and model else None,
            messages=messages,
            tool_counts=toolbox.counts if toolbox is not None else (0, 0, 0),
        )

    output = await attempt(messages)
    conversation = output.messages  # kept: a guardrail may return an output without it
    numbered = bool(task.guardrails)
    for i, guard in enumerate(guards):
        # As in CrewAI: guardrails run in order, each with its own retries; a rejection asks
        # the agent again and checks that same guardrail's verdict on the new answer.
        retries = 0
        while True:
            ok, value = await _check(guard, output, run, llm, who, caps)
            if ok:
                output = _accept(output, value)
                break
            if retries >= task.guardrail_max_retries:
                name = f"guardrail {i}" if numbered else "guardrail"
                raise GuardrailError(
                    f"Task failed {name} validation after {retries} retries. Last error: "
                    f"{value} (task {who[0]!r}, agent {who[1]!r})",
                    task=who[0],
                    agent=who[1],
                )
            retries += 1
            retry = {"role": "user", "content": guardrail_retry_prompt(str(value))}
            output = await attempt([*conversation, retry])
            conversation = output.messages
    return output


def memory_usage(run: Run, memory: Any) -> AbstractContextManager[None]:
    """Inside, the LLM calls of ``memory`` (recall, save, its tools) add to the run's usage."""
    if memory is None:
        return nullcontext()
    from ..memory.analyze import charging

    return charging(run.add_usage)


async def _with_memory(memory: Any, description: str, prompt: str) -> str:
    """The task prompt with the memories its description recalls (CrewAI's query and
    limit, 5), or unchanged when none is found."""
    from ..memory.crews import arecall_text

    found = await arecall_text(memory, description)
    return prompt + memory_block(found) if found else prompt


async def _with_knowledge(run: Run, agent: Agent, prompt: str, caps: tuple[Limiter, ...]) -> str:
    """The task prompt with what the agent's and the crew's knowledge hold about it, as
    CrewAI retrieves it: the agent's model first rewrites the prompt into a search query
    (one LLM call of the run), each knowledge is searched with it (the agent's
    ``knowledge_config``, else each one's defaults), and each non-empty result is appended
    as ``Additional Information: ...``. Nothing happens (no call) without knowledge."""
    crew = run.crew
    own = agent.knowledge_for(getattr(crew, "embedder", None))
    shared = getattr(crew, "knowledge", None)
    if own is None and shared is None:
        return prompt
    resp = await call_llm(run, agent.llm, knowledge_query_messages(prompt), None, None, caps)
    query = (resp.content or "").strip()
    if not query:
        return prompt
    from ..knowledge.knowledge import extract_knowledge_context

    config = agent.knowledge_config.model_dump() if agent.knowledge_config else {}
    if own is not None:
        found = extract_knowledge_context(await own.aquery([query], **config))
        if found:
            prompt = f"{prompt}\n\n{found}"
    if shared is not None:
        found = extract_knowledge_context(await crew.aquery_knowledge([query], **config))
        if found:
            prompt = f"{prompt}\n\n{found}"
    return prompt


def context_text(outputs: Sequence[TaskOutput]) -> str:
    """Join earlier outputs into the context block of a prompt."""
    return join_context([o.raw for o in outputs])
