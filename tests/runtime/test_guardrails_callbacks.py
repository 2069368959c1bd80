"""Guardrails (callable and plain-language), callbacks and output files."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from fastcrew import Crew, GuardrailError, Task, TaskOutput

from .conftest import agent


async def test_guardrail_retries_with_feedback_then_passes(sim, llm):
    seen: list[str] = []

    def at_least_three_tries(output: TaskOutput) -> tuple[bool, str]:
        seen.append(output.raw)
        if len(seen) < 3:
            return False, f"attempt {len(seen)} is too vague"
        return True, output.raw.upper()

    a = agent(llm)
    task = Task(
        description="Explain tides", expected_output="x", agent=a, guardrail=at_least_three_tries
    )
    result = await Crew(agents=[a], tasks=[task]).akickoff()
    assert len(seen) == 3
    assert len(set(seen)) == 3
    assert result.raw == seen[-1].upper()
    feedback = [m["content"] for m in result.tasks_output[0].messages if m["role"] == "user"]
    assert "attempt 1 is too vague" in feedback[1]
    assert "attempt 2 is too vague" in feedback[2]
    assert sim.stats()["requests_total"] == 3


async def test_guardrail_gives_up_after_its_retries(sim, llm):
    async def never(output: TaskOutput) -> tuple[bool, str]:
        return False, "never good enough"

    a = agent(llm, role="Writer")
    task = Task(
        description="Explain tides",
        expected_output="x",
        agent=a,
        name="tides",
        guardrail=never,
        guardrail_max_retries=2,
    )
    with pytest.raises(
        GuardrailError, match=r"validation after 2 retries\. Last error: never good enough"
    ) as info:
        await Crew(agents=[a], tasks=[task]).akickoff()
    assert (info.value.task, info.value.agent) == ("tides", "Writer")
    assert sim.stats()["requests_total"] == 3


async def test_guardrail_may_return_a_model_or_dict(llm):
    class Short(BaseModel):
        text: str

    a = agent(llm)
    tasks = [
        Task(
            description="One",
            expected_output="x",
            agent=a,
            guardrail=lambda out: (True, Short(text=out.raw[:5])),
        ),
        Task(
            description="Two", expected_output="x", agent=a, guardrail=lambda out: (True, {"n": 1})
        ),
    ]
    out = (await Crew(agents=[a], tasks=tasks).akickoff()).tasks_output
    assert out[0].pydantic == Short(text=out[0].pydantic.text)
    assert json.loads(out[0].raw) == {"text": out[0].pydantic.text}
    assert out[1].json_dict == {"n": 1}


async def test_plain_language_guardrail_is_checked_by_the_llm(sim, llm):
    a = agent(llm)
    task = Task(
        description="Explain tides",
        expected_output="x",
        agent=a,
        guardrail="The answer mentions the moon",
        guardrail_max_retries=1,
    )
    try:
        result = await Crew(agents=[a], tasks=[task]).akickoff()
    except GuardrailError:
        assert sim.stats()["requests_total"] == 4  # answer, check, retry, check
    else:
        requests = sim.stats()["requests_total"]
        assert requests in (2, 4)
        assert result.token_usage.successful_requests == requests


def test_guardrail_signature_is_checked():
    with pytest.raises(ValueError, match="exactly one argument"):
        Task(description="x", expected_output="y", guardrail=lambda a, b: (True, a))


async def test_callbacks_and_output_files(tmp_path, llm):
    calls: list[tuple[str, str]] = []

    async def async_callback(output: TaskOutput) -> None:
        calls.append(("task-async", output.description))

    class Item(BaseModel):
        name: str

    a = agent(llm)
    tasks = [
        Task(
            description="Write about {topic}",
            expected_output="x",
            agent=a,
            callback=lambda out: calls.append(("task", out.description)),
            output_file=str(tmp_path / "{topic}" / "deep" / "notes.md"),
        ),
        Task(
            description="List {topic}",
            expected_output="x",
            agent=a,
            callback=async_callback,
            output_json=Item,
            output_file=str(tmp_path / "item.json"),
        ),
    ]
    crew = Crew(
        agents=[a], tasks=tasks, task_callback=lambda out: calls.append(("crew", out.description))
    )
    result = await crew.akickoff({"topic": "owls"})
    assert calls == [
        ("task", "Write about owls"),
        ("crew", "Write about owls"),
        ("task-async", "List owls"),
        ("crew", "List owls"),
    ]
    assert (tmp_path / "owls" / "deep" / "notes.md").read_text() == result.tasks_output[0].raw
    assert json.loads((tmp_path / "item.json").read_text()) == result.json_dict


async def test_kickoff_callbacks(llm):
    a = agent(llm)
    crew = Crew(
        agents=[a],
        tasks=[Task(description="About {topic}", expected_output="x", agent=a)],
        before_kickoff_callbacks=[lambda inputs: {**inputs, "topic": inputs["topic"] + "!"}],
        after_kickoff_callbacks=[lambda out: out.model_copy(update={"raw": "replaced"})],
    )
    result = await crew.akickoff({"topic": "bees"})
    assert result.raw == "replaced"
    assert result.tasks_output[0].description == "About bees!"


async def test_guardrails_list_runs_in_order(sim, llm):
    order: list[str] = []

    def first(output: TaskOutput) -> tuple[bool, str]:
        order.append("first")
        return True, output.raw + " [checked]"

    def second(output: TaskOutput) -> tuple[bool, str]:
        order.append("second")
        return (True, output) if output.raw.endswith("[checked]") else (False, "unchecked")

    a = agent(llm)
    task = Task(description="Explain", expected_output="x", agent=a, guardrails=[first, second])
    result = await Crew(agents=[a], tasks=[task]).akickoff()
    assert order == ["first", "second"]
    assert result.raw.endswith("[checked]")
    assert sim.stats()["requests_total"] == 1
