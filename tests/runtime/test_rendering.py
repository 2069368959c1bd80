"""Placeholders: filled per run from the inputs, named when missing, templates untouched."""

from __future__ import annotations

import pytest

from fastcrew import Crew, InputError, Task
from fastcrew.runtime.rendering import check_inputs, placeholders, render

from .conftest import agent


def test_render_values_and_leaves_other_braces():
    inputs = {"a": "x", "n": 3, "f": 1.5, "b": True, "l": [1, "two"], "d": {"k": 1}}
    text = '{a} {n} {f} {b} {l} {d} {not a placeholder} {"json": 1} {}'
    assert render(text, inputs, "t") == (  # str(value), as CrewAI writes them
        "x 3 1.5 True [1, 'two'] {'k': 1} {not a placeholder} {\"json\": 1} {}"
    )
    assert render("About {topic}", {}, "t") == "About {topic}"  # no inputs: left as written
    assert placeholders("{a} and {b-c} and {a}") == ["a", "b-c", "a"]


def test_missing_and_bad_inputs_are_named():
    with pytest.raises(InputError, match="missing input 'topic' for the description") as info:
        render("About {topic}", {"other": 1}, "the description of task 0")
    assert info.value.variable == "topic"
    with pytest.raises(InputError, match="input 'when' has type object"):
        check_inputs({"when": object()})
    with pytest.raises(InputError, match="input 'tags' holds a value of type set"):
        check_inputs({"tags": {"k": [1, {"x": {2}}]}})
    with pytest.raises(InputError, match="must be a dict"):
        check_inputs(["not", "a", "dict"])  # type: ignore[arg-type]


async def test_missing_input_fails_before_any_call(sim, llm):
    researcher = agent(llm)
    crew = Crew(
        agents=[researcher],
        tasks=[
            Task(description="Research {topic}", expected_output="notes", agent=researcher),
            Task(
                description="Write for {audience}",
                expected_output="draft",
                agent=researcher,
                name="write",
            ),
        ],
    )
    with pytest.raises(InputError, match="missing input 'audience' for the description of 'write'"):
        await crew.akickoff({"topic": "AI"})
    assert sim.stats()["requests_total"] == 0


async def test_agent_fields_are_rendered(llm):
    templated = agent(llm, role="{field} expert")
    crew = Crew(
        agents=[templated],
        tasks=[Task(description="Explain {field}", expected_output="x", agent=templated)],
    )
    result = await crew.akickoff({"field": "chemistry"})
    assert result.tasks_output[0].agent == "chemistry expert"
    assert result.tasks_output[0].messages[0]["content"].startswith("You are chemistry expert.")
    assert templated.role == "{field} expert"


def test_stale_inputs_never_leak_between_runs(spawned_sim):
    """CrewAI returns A, A here: kickoff_for_each reused the first run's rendered text."""
    from .conftest import sim_llm

    researcher = agent(sim_llm(spawned_sim.base_url))
    task = Task(description="Research {topic}", expected_output="About {topic}", agent=researcher)
    crew = Crew(agents=[researcher], tasks=[task])
    first = crew.kickoff({"topic": "A"})
    later = crew.kickoff_for_each([{"topic": "B"}, {"topic": "C"}])
    assert "Research A" in first.raw
    assert ["Research B" in later[0].raw, "Research C" in later[1].raw] == [True, True]
    assert [o.tasks_output[0].description for o in later] == ["Research B", "Research C"]
    assert later[1].tasks_output[0].expected_output == "About C"
    assert task.description == "Research {topic}"
    assert task.expected_output == "About {topic}"
