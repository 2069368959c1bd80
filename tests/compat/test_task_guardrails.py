"""CrewAI compatibility: task guardrails, as CrewAI 1.15's
``lib/crewai/tests/test_task_guardrails.py`` pins them down (written for fastcrew, not
copied). CrewAI's tests answer with a ``Mock`` agent; here the agent answers from the
simulator, so each test reads the first answer from the guardrail before checking what the
guardrails made of it.

The rules, as in CrewAI: guardrails run in order, each passing guardrail's value replaces the
output (a string → ``raw``, a ``TaskOutput`` → the whole output); a rejection asks the agent
again with the feedback and checks that same guardrail's verdict on the new answer (earlier
ones are not re-run); each guardrail has its own ``guardrail_max_retries``; a non-empty
``guardrails`` list replaces ``guardrail``; running out raises "Task failed guardrail [i]
validation after N retries. Last error: ..." (fastcrew's ``GuardrailError``).

Covered: 16 of its 22 tests. Deliberately different: the retry counters CrewAI keeps on the
task (``task.retry_count``, ``task._guardrail_retry_counts``) are per run in fastcrew; the
tests count the guardrail calls and LLM requests instead.

Left out (6): ``test_task_guardrail_process_output`` (CrewAI's ``LLMGuardrail`` class; fastcrew
checks a string guardrail with the agent's LLM, tests/runtime/test_guardrails_callbacks.py),
``test_guardrail_emits_events`` (events), ``test_guardrail_when_an_error_occurs`` (patches
``Agent.kickoff``; fastcrew raises the LLM's own error),
``test_hallucination_guardrail_integration`` and
``test_hallucination_guardrail_description_in_events`` (CrewAI's
``HallucinationGuardrail``, an enterprise no-op), ``test_export_output_accepts_pydantic_input``
(the private ``Task._export_output``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, Field
from runtime.conftest import sim_llm

from fastcrew import Agent, GuardrailError, Task, TaskOutput


def agent_on(base_url: str, role: str = "test_agent") -> Agent:
    return Agent(role=role, goal="Test goal", backstory="Test backstory", llm=sim_llm(base_url))


def task_with(base_url: str, **kwargs: Any) -> Task:
    kwargs.setdefault("description", "Test task")
    kwargs.setdefault("expected_output", "Output")
    return Task(agent=agent_on(base_url), **kwargs)


async def test_task_without_guardrail(sim) -> None:
    result = await task_with(sim.base_url).aexecute_sync()
    assert isinstance(result, TaskOutput)
    assert result.raw.startswith("Simulated answer")


async def test_task_with_successful_guardrail_func(sim) -> None:
    seen: list[str] = []

    def guardrail(result: TaskOutput) -> tuple[bool, str]:
        seen.append(result.raw)
        return (True, result.raw.upper())

    result = await task_with(sim.base_url, guardrail=guardrail).aexecute_sync()
    assert result.raw == seen[0].upper()


async def test_task_with_failing_guardrail(sim) -> None:
    """One retry allowed: the agent answers twice, then the task fails (CrewAI's
    ``task.retry_count == 1`` is the one retry request here)."""
    task = task_with(
        sim.base_url, guardrail=lambda _: (False, "Invalid format"), guardrail_max_retries=1
    )
    with pytest.raises(GuardrailError, match="Task failed guardrail validation"):
        await task.aexecute_sync()
    assert sim.stats()["requests_total"] == 2


async def test_task_with_guardrail_retries(sim) -> None:
    task = task_with(
        sim.base_url, guardrail=lambda _: (False, "Invalid format"), guardrail_max_retries=2
    )
    with pytest.raises(Exception, match="Task failed guardrail validation after 2 retries") as info:
        await task.aexecute_sync()
    assert "Invalid format" in str(info.value)
    assert sim.stats()["requests_total"] == 3


async def test_guardrail_error_in_context(sim) -> None:
    """The feedback goes back to the agent with the retry, and names the failure at the end."""
    answers: list[TaskOutput] = []

    def guardrail(result: TaskOutput) -> tuple[bool, str]:
        answers.append(result)
        return (False, "Expected JSON, got string")

    task = task_with(sim.base_url, guardrail=guardrail, guardrail_max_retries=1)
    with pytest.raises(Exception, match="Task failed guardrail validation") as info:
        await task.aexecute_sync()
    assert "Expected JSON, got string" in str(info.value)
    retry_request = answers[1].messages[-2]
    assert retry_request["role"] == "user"
    assert "Expected JSON, got string" in retry_request["content"]


async def test_multiple_guardrails_sequential_processing(sim) -> None:
    base: list[str] = []

    def first(result: TaskOutput) -> tuple[bool, str]:
        base.append(result.raw)
        return (True, f"[FIRST] {result.raw}")

    def second(result: TaskOutput) -> tuple[bool, str]:
        return (True, f"{result.raw} [SECOND]")

    def third(result: TaskOutput) -> tuple[bool, str]:
        return (True, result.raw.upper())

    task = task_with(sim.base_url, guardrails=[first, second, third])
    result = await task.aexecute_sync()
    assert result.raw == f"[FIRST] {base[0]} [SECOND]".upper()


async def test_multiple_guardrails_with_validation_failure(sim) -> None:
    """The first answer is rejected by the first guardrail ("too short"); the retry passes
    every guardrail, each transforming it."""
    seen: list[str] = []

    def length(result: TaskOutput) -> tuple[bool, str]:
        seen.append(result.raw)
        if len(seen) == 1:
            return (False, "Text too short")
        return (True, result.raw)

    def formatted(result: TaskOutput) -> tuple[bool, str]:
        if not result.raw.startswith("Formatted:"):
            return (True, f"Formatted: {result.raw}")
        return (True, result.raw)

    def validation(result: TaskOutput) -> tuple[bool, str]:
        if "Formatted:" not in result.raw:
            return (False, "Missing formatting")
        return (True, result.raw)

    task = task_with(
        sim.base_url, guardrails=[length, formatted, validation], guardrail_max_retries=2
    )
    result = await task.aexecute_sync()
    assert len(seen) == 2
    assert result.raw == f"Formatted: {seen[1]}"


async def test_multiple_guardrails_with_mixed_string_and_taskoutput(sim) -> None:
    base: list[str] = []

    def string_guardrail(result: TaskOutput) -> tuple[bool, str]:
        base.append(result.raw)
        return (True, f"String: {result.raw}")

    def taskoutput_guardrail(result: TaskOutput) -> tuple[bool, TaskOutput]:
        return (
            True,
            TaskOutput(
                name=result.name,
                description=result.description,
                expected_output=result.expected_output,
                raw=f"TaskOutput: {result.raw}",
                agent=result.agent,
                output_format=result.output_format,
            ),
        )

    def final_string_guardrail(result: TaskOutput) -> tuple[bool, str]:
        return (True, f"Final: {result.raw}")

    task = task_with(
        sim.base_url, guardrails=[string_guardrail, taskoutput_guardrail, final_string_guardrail]
    )
    result = await task.aexecute_sync()
    assert result.raw == f"Final: TaskOutput: String: {base[0]}"


async def test_multiple_guardrails_with_retry_on_middle_guardrail(sim) -> None:
    """A rejection by the second guardrail re-checks the second on the new answer, not the
    first: the first runs once, the second twice, the third once."""
    calls = {"first": 0, "second": 0, "third": 0}

    def first(result: TaskOutput) -> tuple[bool, str]:
        calls["first"] += 1
        return (True, f"First({calls['first']}): {result.raw}")

    def second(result: TaskOutput) -> tuple[bool, str]:
        calls["second"] += 1
        if calls["second"] == 1:
            return (False, "Second guardrail failed on first attempt")
        return (True, f"Second({calls['second']}): {result.raw}")

    def third(result: TaskOutput) -> tuple[bool, str]:
        calls["third"] += 1
        return (True, f"Third({calls['third']}): {result.raw}")

    task = task_with(sim.base_url, guardrails=[first, second, third], guardrail_max_retries=2)
    result = await task.aexecute_sync()
    assert calls == {"first": 1, "second": 2, "third": 1}
    assert "Second(2)" in result.raw
    assert sim.stats()["requests_total"] == 2


async def test_multiple_guardrails_with_max_retries_exceeded(sim) -> None:
    task = task_with(
        sim.base_url,
        guardrails=[
            lambda r: (True, f"Passed: {r.raw}"),
            lambda _: (False, "This guardrail always fails"),
        ],
        guardrail_max_retries=1,
    )
    with pytest.raises(
        Exception, match="Task failed guardrail 1 validation after 1 retries"
    ) as info:
        await task.aexecute_sync()
    assert "This guardrail always fails" in str(info.value)
    assert sim.stats()["requests_total"] == 2


async def test_multiple_guardrails_empty_list(sim) -> None:
    result = await task_with(sim.base_url, guardrails=[]).aexecute_sync()
    assert result.raw.startswith("Simulated answer")


def test_multiple_guardrails_with_llm_guardrails() -> None:
    """A callable and a plain-language guardrail mix in one list (CrewAI wraps the string in
    an ``LLMGuardrail``; fastcrew keeps it and asks the agent's LLM when it runs)."""

    def callable_guardrail(result: TaskOutput) -> tuple[bool, str]:
        return (True, f"Callable: {result.raw}")

    task = task_with(
        "http://127.0.0.1:9/v1",
        guardrails=[callable_guardrail, "Ensure the output is professional"],
    )
    assert task.guardrail_list() == [callable_guardrail, "Ensure the output is professional"]


async def test_multiple_guardrails_processing_order(sim) -> None:
    order: list[str] = []
    base: list[str] = []

    def first(result: TaskOutput) -> tuple[bool, str]:
        order.append("first")
        base.append(result.raw)
        return (True, f"1-{result.raw}")

    def second(result: TaskOutput) -> tuple[bool, str]:
        order.append("second")
        return (True, f"2-{result.raw}")

    def third(result: TaskOutput) -> tuple[bool, str]:
        order.append("third")
        return (True, f"3-{result.raw}")

    result = await task_with(sim.base_url, guardrails=[first, second, third]).aexecute_sync()
    assert order == ["first", "second", "third"]
    assert result.raw == f"3-2-1-{base[0]}"


async def test_multiple_guardrails_with_pydantic_output(sim) -> None:
    class TestModel(BaseModel):
        content: str = Field(description="The content")
        processed: bool = Field(description="Whether it was processed")

    base: list[str] = []

    def json_guardrail(result: TaskOutput) -> tuple[bool, str]:
        base.append(result.raw)
        return (True, json.dumps({"content": result.raw, "processed": True}))

    def validation_guardrail(result: TaskOutput) -> tuple[bool, str]:
        try:
            data = json.loads(result.raw)
        except json.JSONDecodeError:
            return (False, "Invalid JSON format")
        if "content" not in data or "processed" not in data:
            return (False, "Missing required fields")
        return (True, result.raw)

    task = task_with(
        sim.base_url,
        guardrails=[json_guardrail, validation_guardrail],
        output_pydantic=TestModel,
    )
    result = await task.aexecute_sync()
    parsed = json.loads(result.raw)
    assert parsed["content"] == base[0]
    assert parsed["processed"] is True


async def test_guardrails_vs_single_guardrail_mutual_exclusion(sim) -> None:
    base: list[str] = []

    def single(result: TaskOutput) -> tuple[bool, str]:
        return (True, f"Single: {result.raw}")

    def listed(result: TaskOutput) -> tuple[bool, str]:
        base.append(result.raw)
        return (True, f"List: {result.raw}")

    task = task_with(sim.base_url, guardrail=single, guardrails=[listed])
    result = await task.aexecute_sync()
    assert result.raw == f"List: {base[0]}"
    assert task.guardrail_list() == [listed]


async def test_per_guardrail_independent_retry_tracking(sim) -> None:
    """Each guardrail has its own retries: g1 fails twice, g2 once, within max 3 each."""
    calls = {"g1": 0, "g2": 0, "g3": 0}

    def g1(result: TaskOutput) -> tuple[bool, str]:
        calls["g1"] += 1
        if calls["g1"] <= 2:
            return (False, "Guardrail 1 not ready yet")
        return (True, f"G1({calls['g1']}): {result.raw}")

    def g2(result: TaskOutput) -> tuple[bool, str]:
        calls["g2"] += 1
        if calls["g2"] == 1:
            return (False, "Guardrail 2 not ready yet")
        return (True, f"G2({calls['g2']}): {result.raw}")

    def g3(result: TaskOutput) -> tuple[bool, str]:
        calls["g3"] += 1
        return (True, f"G3({calls['g3']}): {result.raw}")

    task = task_with(sim.base_url, guardrails=[g1, g2, g3], guardrail_max_retries=3)
    result = await task.aexecute_sync()
    assert calls == {"g1": 3, "g2": 2, "g3": 1}
    assert "G3(1)" in result.raw
    assert sim.stats()["requests_total"] == 4  # the answer and three retries
