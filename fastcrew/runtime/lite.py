"""``Agent.kickoff``: one agent asked directly, without a crew (CrewAI's "lite agent").

A kickoff is a run of its own (:class:`Run`: usage, tool cache), so ``usage_metrics`` is
that call's usage only, guardrail checks and retries included. The agent's ``guardrail``
(a callable taking the :class:`LiteAgentOutput`, or a plain-language criterion checked by
the agent's LLM) runs on the answer, as in CrewAI: a rejection sends its feedback back to
the agent and asks again, up to ``guardrail_max_retries`` times.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..errors import GuardrailError, UnsupportedFeatureError
from ..limits import Limiter
from ..memory.crews import task_memory
from .acting import act, task_toolbox
from .calls import Message, answer, call_with_timeout, maybe_await
from .execution import memory_usage
from .outputs import LiteAgentOutput
from .prompts import (
    agent_system_prompt,
    guardrail_check_prompt,
    guardrail_retry_prompt,
    kickoff_memory_block,
)
from .run_state import Run
from .trace import trace_for

if TYPE_CHECKING:
    from .agent import Agent

__all__ = ["Messages", "akickoff", "check_agent_guardrail"]

Messages = str | Sequence[Mapping[str, Any]]


class _Verdict(BaseModel):
    valid: bool
    feedback: str | None = None


def check_agent_guardrail(value: Any) -> Any:
    """``Agent(guardrail=...)``: a callable(LiteAgentOutput) -> (ok, value) or a string."""
    if value is None or isinstance(value, str) or callable(value):
        return value
    raise ValueError(
        "an agent's guardrail must be a callable(LiteAgentOutput) -> (ok, value_or_feedback) "
        f"or a string describing the criteria, not {type(value).__name__}"
    )


def _request_text(conversation: list[Message]) -> str:
    """The user's request as text: the non-system messages' contents, one per line."""
    texts = [str(m.get("content")) for m in conversation[1:] if m.get("content")]
    return "\n".join(texts) or "User request"


async def _with_memory(memory: Any, request: str, conversation: list[Message]) -> None:
    """Append what ``request`` recalls (CrewAI's 20 memories) to its last user message."""
    from ..memory.crews import KICKOFF_RECALL_LIMIT, arecall_text

    found = await arecall_text(memory, request, KICKOFF_RECALL_LIMIT)
    users = [m for m in conversation if m.get("role") == "user"]
    if found and users and isinstance(users[-1].get("content"), str):
        users[-1]["content"] = str(users[-1]["content"]) + kickoff_memory_block(found)


def _conversation(agent: Agent, messages: Messages) -> list[Message]:
    conversation: list[Message] = [
        {"role": "system", "content": agent_system_prompt(agent.role, agent.goal, agent.backstory)}
    ]
    if isinstance(messages, str):
        conversation.append({"role": "user", "content": messages})
    else:
        conversation.extend(dict(m) for m in messages)
    return conversation


async def _check(
    agent: Agent, output: LiteAgentOutput, run: Run, caps: tuple[Limiter, ...]
) -> tuple[bool, Any]:
    """The guardrail's verdict on ``output``: (ok, the value to use or the feedback)."""
    guard = agent.guardrail
    if isinstance(guard, str):  # checked by the agent's own LLM, as CrewAI's LLMGuardrail
        prompt: list[Message] = [
            {"role": "user", "content": guardrail_check_prompt(guard, output.raw)}
        ]
        _, verdict, _ = await answer(
            run, agent.llm, prompt, _Verdict, None, (None, agent.role), caps
        )
        assert isinstance(verdict, _Verdict)
        return (True, output.raw) if verdict.valid else (False, verdict.feedback or "rejected")
    result = await maybe_await(guard(output))
    if not (isinstance(result, tuple) and len(result) == 2):
        raise TypeError(
            f"the guardrail of agent {agent.role!r} must return (ok, value_or_feedback), "
            f"not {result!r}"
        )
    return bool(result[0]), result[1]


async def _attempt(
    agent: Agent,
    run: Run,
    conversation: list[Message],
    response_format: type[BaseModel] | None,
    caps: tuple[Limiter, ...],
    memory: Any,
) -> LiteAgentOutput:
    """One answer of the agent (with its tools, up to ``max_iter`` steps)."""
    who = (None, agent.role)
    toolbox = task_toolbox(run, agent, None, memory)
    if toolbox is not None and run.trace is not None:
        toolbox.trace = run.trace
    if toolbox is None:
        work = answer(run, agent.llm, conversation, response_format, None, who, caps)
    else:
        work = act(
            run, agent.llm, conversation, toolbox, response_format, None, who, caps, agent.max_iter
        )
    raw, model, messages = await work
    return LiteAgentOutput(
        raw=raw,
        pydantic=model,
        agent_role=agent.role,
        usage_metrics=run.usage.model_dump(),
        messages=messages,
    )


async def _guarded(
    agent: Agent,
    run: Run,
    conversation: list[Message],
    response_format: type[BaseModel] | None,
    caps: tuple[Limiter, ...],
    memory: Any,
) -> LiteAgentOutput:
    """The answer, checked by the agent's guardrail (if any) and asked again on rejection."""
    output = await _attempt(agent, run, conversation, response_format, caps, memory)
    if agent.guardrail is None:
        return output
    retries = 0
    while True:
        ok, value = await _check(agent, output, run, caps)
        if ok:
            break
        if retries >= agent.guardrail_max_retries:
            raise GuardrailError(
                f"Agent's guardrail failed validation after {agent.guardrail_max_retries} "
                f"retries. Last error: {value} (agent {agent.role!r})",
                task=None,
                agent=agent.role,
            )
        retries += 1
        retry: Message = {"role": "user", "content": guardrail_retry_prompt(str(value))}
        output = await _attempt(
            agent, run, [*output.messages, retry], response_format, caps, memory
        )
    # As in CrewAI: text replaces ``raw``, a model becomes ``pydantic``; anything else is kept.
    if isinstance(value, str):
        output.raw = value
    elif isinstance(value, BaseModel):
        output.pydantic = value
    output.usage_metrics = run.usage.model_dump()  # the checks' own calls included
    return output


async def akickoff(
    agent: Agent,
    messages: Messages | None,
    response_format: type[BaseModel] | None,
    query: str | None,
    input_files: Mapping[str, Any] | None,
) -> LiteAgentOutput:
    """Ask ``agent`` directly: the body of ``Agent.akickoff``."""
    if messages is None:
        messages = query
    if messages is None:
        raise TypeError("Agent.kickoff() needs messages: a string or a list of messages")
    if input_files:
        raise UnsupportedFeatureError(
            "Agent.kickoff(input_files=...) is not supported by fastcrew yet: file inputs. "
            "Remove it, or run this agent with CrewAI."
        )
    run = Run({})
    conversation = _conversation(agent, messages)
    caps = run.caps_for(agent)
    trace = trace_for(run, agent)
    if trace is not None:
        run.trace = trace
        trace.agent_started(agent.role, str(conversation[-1].get("content") or ""))
    memory = task_memory(agent, None)
    with memory_usage(run, memory):
        request = ""
        if memory is not None:
            request = _request_text(conversation)
            await _with_memory(memory, request, conversation)
        work = _guarded(agent, run, conversation, response_format, caps, memory)
        output: LiteAgentOutput = await call_with_timeout(
            work, agent.max_execution_time, (None, agent.role)
        )
        if memory is not None and output.raw:
            from ..memory.crews import asave_kickoff

            await asave_kickoff(memory, request, agent.role, output.raw)
            await memory.adrain_writes()  # what its tools saved in the background
            output.usage_metrics = run.usage.model_dump()
    if trace is not None:
        trace.answer(agent.role, output.raw)
    return output
