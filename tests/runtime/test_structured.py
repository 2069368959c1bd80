"""Structured output: json_schema requests, validation, one repair request, a clear error."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, field_validator

from fastcrew import Crew, OutputFormat, OutputValidationError, Task

from .conftest import agent


class Report(BaseModel):
    title: str
    score: int


async def test_output_pydantic(sim, llm):
    a = agent(llm)
    task = Task(
        description="Rate {thing}", expected_output="a report", agent=a, output_pydantic=Report
    )
    result = await Crew(agents=[a], tasks=[task]).akickoff({"thing": "tea"})
    assert isinstance(result.pydantic, Report)
    assert "Rate tea" in result.pydantic.title
    assert result["title"] == result.pydantic.title
    assert result.to_dict() == result.pydantic.model_dump()
    assert result.tasks_output[0].output_format is OutputFormat.PYDANTIC
    assert json.loads(result.raw) == result.pydantic.model_dump()
    assert str(result) == str(result.pydantic)
    with pytest.raises(ValueError, match="No JSON output found in the final task"):
        _ = result.json
    assert sim.stats()["requests_total"] == 1


async def test_output_json(llm):
    a = agent(llm)
    task = Task(description="Rate coffee", expected_output="a report", agent=a, output_json=Report)
    result = await Crew(agents=[a], tasks=[task]).akickoff()
    assert result.pydantic is None
    assert set(result.json_dict) == {"title", "score"}
    assert json.loads(result.json) == result.json_dict
    assert result["score"] == result.json_dict["score"]
    assert result.tasks_output[0].json == result.json
    with pytest.raises(KeyError):
        result["missing"]


def _picky(fail_times: int) -> type[BaseModel]:
    state = {"seen": 0}

    class Picky(BaseModel):
        title: str

        @field_validator("title")
        @classmethod
        def reject_early_answers(cls, value: str) -> str:
            state["seen"] += 1
            if state["seen"] <= fail_times:
                raise ValueError("title must be catchier")
            return value

    return Picky


async def test_one_repair_request_fixes_a_bad_answer(sim, llm):
    a = agent(llm)
    task = Task(
        description="Name it", expected_output="a title", agent=a, output_pydantic=_picky(1)
    )
    result = await Crew(agents=[a], tasks=[task]).akickoff()
    assert result.pydantic is not None
    messages = result.tasks_output[0].messages
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant"]
    assert "title must be catchier" in messages[3]["content"]
    assert sim.stats()["requests_total"] == 2
    assert result.token_usage.successful_requests == 2


async def test_still_invalid_after_repair_is_a_clear_error(sim, llm):
    a = agent(llm, role="Namer")
    task = Task(
        description="Name it",
        expected_output="a title",
        agent=a,
        name="naming",
        output_pydantic=_picky(2),
    )
    with pytest.raises(OutputValidationError, match="not a valid Picky") as info:
        await Crew(agents=[a], tasks=[task]).akickoff()
    assert (info.value.task, info.value.agent) == ("naming", "Namer")
    assert "title must be catchier" in str(info.value)
    assert sim.stats()["requests_total"] == 2


def test_only_one_schema():
    with pytest.raises(ValueError, match="only one of"):
        Task(description="x", expected_output="y", output_json=Report, output_pydantic=Report)


async def test_response_model_gives_a_pydantic_output(llm):
    a = agent(llm)
    task = Task(description="Rate it", expected_output="x", agent=a, response_model=Report)
    result = await Crew(agents=[a], tasks=[task]).akickoff()
    assert isinstance(result.pydantic, Report)
