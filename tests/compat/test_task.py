"""CrewAI compatibility: defining tasks, filling their placeholders, their outputs and output
files, as CrewAI 1.15's ``lib/crewai/tests/test_task.py`` and ``tests/test_markdown_task.py``
pin them down (written for fastcrew, not copied). Running one task alone
(``execute_sync`` / ``execute_async`` / ``aexecute_sync``) is in ``test_task_execution.py``,
guardrails in ``test_task_guardrails.py``.

``test_task.py`` (67 tests): 45 covered here (each test names the ones it covers), 10 in
``test_task_execution.py``, 12 left out.

Deliberately different (tested as fastcrew behaves, the test says why):
``test_task_tool_reflect_agent_tools`` (``task.tools`` keeps what was given; the agent's tools
are used when it has none), ``test_interpolate_inputs`` and
``test_task_interpolation_with_hyphens`` (a run renders its own text; the template never
changes), ``test_output_file_validation`` (an absolute path stays absolute),
``test_increment_tool_errors`` (counted on the run's ``TaskOutput``, in a sequential crew).

Left out (12):

- hierarchical process and delegation (in test_crew / test_hierarchical):
  ``test_output_pydantic_hierarchical``, ``test_output_json_hierarchical``,
  ``test_output_json_dict_hierarchical``, ``test_increment_delegations_for_hierarchical_process``,
  ``test_increment_delegations_for_sequential_process``;
- features fastcrew does not claim (refused by name when switched on): ``test_inject_date``,
  ``test_inject_date_custom_format`` (date injection), ``test_custom_converter_cls`` (custom
  converters);
- CrewAI-private internals: ``test_conditional_task_copy_preserves_type``,
  ``test_task_copy_with_none_context``, ``test_task_copy_with_not_specified_context``,
  ``test_task_copy_with_list_context`` (``Task.copy(agents, task_mapping)``, CrewAI's crew-copy
  machinery; fastcrew never copies tasks).

CrewAI's tests of ``interpolate_only`` and ``Task._save_file`` are covered through fastcrew's
own renderer and through runs.

``test_markdown_task.py`` (3 tests): all covered; fastcrew's instruction has its own wording
(docs/compatibility.md, Prompts).

``tests/test_context.py`` (19 tests): all left out — they test ``crewai.context``, the CrewAI
platform's integration token (``platform_context``), a platform feature fastcrew does not
claim.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from runtime.conftest import sim_llm

from fastcrew import (
    Agent,
    ConditionalTask,
    Crew,
    InputError,
    OutputFormat,
    Process,
    Task,
    TaskOutput,
    UnsupportedFeatureError,
)
from fastcrew.runtime.rendering import check_inputs, render
from fastcrew.sim import SpawnedSim, spawn
from fastcrew.tools import tool


@pytest.fixture(scope="module")
def spawned() -> Iterator[SpawnedSim]:
    """A simulator in a child process: sync calls run on the runtime's home loop."""
    with spawn() as server:
        yield server


def scorer(base_url: str, **kwargs: Any) -> Agent:
    return Agent(
        role="Scorer",
        goal="Score the title",
        backstory="An expert scorer.",
        llm=sim_llm(base_url),
        allow_delegation=False,
        **kwargs,
    )


class ScoreOutput(BaseModel):
    score: int


def read(path: str | Path) -> str:
    """A file's text (a sync helper: the async tests read small files once the run is over)."""
    return Path(path).read_text()


TITLE = "Give me an integer score between 1-5 for the title 'The impact of AI on work'"


# -- tools ------------------------------------------------------------------------------------


@tool
def fake_tool() -> str:
    """Fake tool"""
    return "agent tool result"


@tool
def fake_task_tool() -> str:
    """Fake task tool"""
    return "task tool result"


async def test_task_tool_reflect_agent_tools(sim) -> None:
    """CrewAI copies the agent's tools into ``task.tools``; fastcrew keeps the task as given
    (a template) and the run uses the agent's tools when the task has none: same answer."""
    agent = scorer(sim.base_url, tools=[fake_tool])
    task = Task(description="Use your tool", expected_output="Its result", agent=agent)
    assert task.tools == []
    out = (await Crew(agents=[agent], tasks=[task]).akickoff()).tasks_output[0]
    assert "fake_tool: agent tool result" in out.raw
    assert out.used_tools == 1


async def test_task_tool_takes_precedence_over_agent_tools(sim) -> None:
    agent = scorer(sim.base_url, tools=[fake_tool])
    task = Task(
        description="Use your tool",
        expected_output="Its result",
        agent=agent,
        tools=[fake_task_tool],
    )
    assert task.tools == [fake_task_tool]
    out = (await Crew(agents=[agent], tasks=[task]).akickoff()).tasks_output[0]
    assert "fake_task_tool: task tool result" in out.raw
    assert "agent tool result" not in out.raw


# -- definition ---------------------------------------------------------------------------------


def test_multiple_output_type_error() -> None:
    with pytest.raises(ValidationError):
        Task(
            description="x",
            expected_output="y",
            output_json=ScoreOutput,
            output_pydantic=ScoreOutput,
        )


def test_guardrail_type_error() -> None:
    def guardrail_fn(x: TaskOutput) -> tuple[bool, TaskOutput]:
        return (True, x)

    class Object:
        def guardrail_fn(self, x: TaskOutput) -> tuple[bool, TaskOutput]:
            return (True, x)

        @classmethod
        def guardrail_class_fn(cls, x: TaskOutput) -> tuple[bool, TaskOutput]:
            return (True, x)

        @staticmethod
        def guardrail_static_fn(x: TaskOutput) -> tuple[bool, TaskOutput]:
            return (True, x)

    def error_fn(x: TaskOutput, y: bool) -> tuple[bool, TaskOutput]:
        return (y, x)

    accepted = [
        lambda x: (True, x),
        guardrail_fn,
        Object().guardrail_fn,
        Object.guardrail_class_fn,
        Object.guardrail_static_fn,
        partial(error_fn, y=True),
    ]
    for guard in accepted:
        Task(description="x", expected_output="y", guardrail=guard)
    with pytest.raises(ValidationError):
        Task(description="x", expected_output="y", guardrail=error_fn)


def test_task_definition_based_on_dict() -> None:
    config = {"description": "Score the title", "expected_output": "The score."}
    task = Task(**config)
    assert (task.description, task.expected_output, task.agent) == (
        config["description"],
        config["expected_output"],
        None,
    )


def test_conditional_task_definition_based_on_dict() -> None:
    config = {"description": "Score the title", "expected_output": "The score."}
    task = ConditionalTask(**config, condition=lambda _: True)
    assert (task.description, task.expected_output, task.agent) == (
        config["description"],
        config["expected_output"],
        None,
    )


def test_key() -> None:
    description = "Give me 5 ideas about {topic}."
    expected = "Bullet point list of 5 ideas about {topic}."
    task = Task(description=description, expected_output=expected)
    digest = hashlib.md5(f"{description}|{expected}".encode(), usedforsecurity=False).hexdigest()
    assert task.key == digest


def test_no_inject_date_and_date_injection_is_refused() -> None:
    """``test_no_inject_date``: ``inject_date=False`` is accepted. Date injection itself is not
    a fastcrew feature: switched on, it is refused by name (docs/compatibility.md)."""
    llm = sim_llm("http://127.0.0.1:9/v1")
    Agent(role="Reporter", goal="g", backstory="b", llm=llm, inject_date=False)
    with pytest.raises(UnsupportedFeatureError, match="date injection"):
        Agent(role="Reporter", goal="g", backstory="b", llm=llm, inject_date=True)


# -- structured outputs in a crew ----------------------------------------------------------


async def test_output_pydantic_sequential(sim) -> None:
    agent = scorer(sim.base_url)
    task = Task(
        description=TITLE, expected_output="The score.", output_pydantic=ScoreOutput, agent=agent
    )
    result = await Crew(agents=[agent], tasks=[task], process=Process.sequential).akickoff()
    assert isinstance(result.pydantic, ScoreOutput)
    assert result.to_dict() == {"score": result.pydantic.score}


async def test_output_json_sequential_and_dict(sim, tmp_path: Path) -> None:
    """``test_output_json_sequential`` and ``test_output_json_dict_sequential``."""
    agent = scorer(sim.base_url)
    output_file = tmp_path / "score.json"
    task = Task(
        description=TITLE,
        expected_output="The score.",
        output_json=ScoreOutput,
        output_file=str(output_file),
        agent=agent,
    )
    result = await Crew(agents=[agent], tasks=[task]).akickoff()
    score = result.json_dict["score"]
    assert result.json == json.dumps({"score": score})
    assert result.json_dict == {"score": score} == result.to_dict()
    assert json.loads(read(output_file)) == {"score": score}


async def test_json_property_without_output_json(sim) -> None:
    agent = scorer(sim.base_url)
    task = Task(
        description=TITLE, expected_output="The score.", output_pydantic=ScoreOutput, agent=agent
    )
    result = await Crew(agents=[agent], tasks=[task]).akickoff()
    with pytest.raises(ValueError, match=r"No JSON output found in the final task\."):
        _ = result.json


async def test_output_pydantic_and_json_to_another_task(sim) -> None:
    """``test_output_pydantic_to_another_task`` and ``test_output_json_to_another_task``: the
    last structured task's answer is the crew's, and the first one's reaches it as context."""
    agent = scorer(sim.base_url)
    for kind in ("output_pydantic", "output_json"):
        first = Task(
            description=TITLE, expected_output="The score.", agent=agent, **{kind: ScoreOutput}
        )
        second = Task(
            description="Given that score, score the title 'Return of the Jedi'",
            expected_output="The score.",
            agent=agent,
            **{kind: ScoreOutput},
        )
        result = await Crew(agents=[agent], tasks=[first, second]).akickoff()
        earlier = result.tasks_output[0].raw
        assert earlier in result.tasks_output[1].messages[1]["content"]
        if kind == "output_pydantic":
            assert isinstance(result.pydantic, ScoreOutput)
        else:
            assert json.loads(result.json or "") == result.json_dict
            assert set(result.json_dict or {}) == {"score"}


async def test_save_task_output_raw_json_and_pydantic(sim, tmp_path: Path, monkeypatch) -> None:
    """``test_save_task_output``, ``test_save_task_json_output``,
    ``test_save_task_pydantic_output``: one file, holding the answer (JSON when structured),
    relative paths from the working directory."""
    monkeypatch.chdir(tmp_path)
    agent = scorer(sim.base_url)
    tasks = [
        Task(description=TITLE, expected_output="The score.", output_file="raw.txt", agent=agent),
        Task(
            description=TITLE,
            expected_output="The score.",
            output_file="score.json",
            output_json=ScoreOutput,
            agent=agent,
        ),
        Task(
            description=TITLE,
            expected_output="The score.",
            output_file="score_output.json",
            output_pydantic=ScoreOutput,
            agent=agent,
        ),
    ]
    result = await Crew(agents=[agent], tasks=tasks).akickoff()
    outs = result.tasks_output
    assert read("raw.txt") == outs[0].raw
    assert json.loads(read("score.json")) == outs[1].json_dict
    assert "score" in json.loads(read("score.json"))
    saved = json.loads(read("score_output.json"))
    assert saved == outs[2].pydantic.model_dump()  # type: ignore[union-attr]


async def test_increment_tool_errors(sim) -> None:
    """A failing tool counts in the task's ``tools_errors``; CrewAI counts on the Task (and
    tests it under the hierarchical process), fastcrew on the run's ``TaskOutput``."""

    @tool
    def scoring_examples() -> str:
        """Useful examples for scoring titles."""
        raise RuntimeError("Error")

    agent = scorer(sim.base_url, tools=[scoring_examples])
    task = Task(description=TITLE, expected_output="The score.", agent=agent)
    out = (await Crew(agents=[agent], tasks=[task]).akickoff()).tasks_output[0]
    assert out.tools_errors > 0


async def test_task_output_includes_messages(sim) -> None:
    agent = scorer(sim.base_url)
    tasks = [
        Task(description="Give me 3 ideas about AI.", expected_output="3 ideas.", agent=agent),
        Task(description="Summarize the ideas.", expected_output="A summary.", agent=agent),
    ]
    result = await Crew(agents=[agent], tasks=tasks, process=Process.sequential).akickoff()
    assert len(result.tasks_output) == 2
    for out in result.tasks_output:
        assert isinstance(out.messages, list)
        assert len(out.messages) > 0


# -- TaskOutput -----------------------------------------------------------------------------


def test_task_output_str() -> None:
    """``test_task_output_str_with_pydantic``, ``..._with_json_dict``, ``..._with_raw``,
    ``..._with_pydantic_and_json_dict``, ``..._with_none``: the model, else the dict, else
    raw."""
    score = ScoreOutput(score=4)
    with_model = TaskOutput(
        description="t", agent="a", pydantic=score, output_format=OutputFormat.PYDANTIC
    )
    assert str(with_model) == str(score)
    with_dict = TaskOutput(
        description="t", agent="a", json_dict={"score": 4}, output_format=OutputFormat.JSON
    )
    assert str(with_dict) == str({"score": 4})
    with_raw = TaskOutput(description="t", agent="a", raw="Raw task output")
    assert str(with_raw) == "Raw task output"
    both = TaskOutput(
        description="t",
        agent="a",
        pydantic=score,
        json_dict={"score": 4},
        output_format=OutputFormat.PYDANTIC,
    )
    assert str(both) == str(score)
    assert str(TaskOutput(description="t", agent="a", output_format=OutputFormat.RAW)) == ""


# -- placeholders ---------------------------------------------------------------------------------


async def test_interpolate_inputs_per_run(sim, tmp_path: Path) -> None:
    """CrewAI's ``interpolate_inputs_and_add_conversation_history`` rewrites the task; in
    fastcrew each run renders its own description, expected output and output_file, and the
    template never changes (docs/compatibility.md: tasks are templates)."""
    agent = scorer(sim.base_url)
    task = Task(
        description="Give me 5 ideas about {topic} to explore.",
        expected_output="Bullet point list of 5 ideas about {topic}.",
        output_file=str(tmp_path / "{topic}" / "output_{date}.txt"),
        agent=agent,
    )
    crew = Crew(agents=[agent], tasks=[task])
    for topic in ("AI", "ML"):
        out = (await crew.akickoff({"topic": topic, "date": "2025"})).tasks_output[0]
        assert out.description == f"Give me 5 ideas about {topic} to explore."
        assert out.expected_output == f"Bullet point list of 5 ideas about {topic}."
        assert read(tmp_path / topic / "output_2025.txt") == out.raw
    assert task.description == "Give me 5 ideas about {topic} to explore."
    assert task.output_file == str(tmp_path / "{topic}" / "output_{date}.txt")
    key = hashlib.md5(
        f"{task.description}|{task.expected_output}".encode(), usedforsecurity=False
    ).hexdigest()
    assert task.key == key  # ``test_key``: the key of the templates, whatever the runs


async def test_no_inputs_leave_placeholders_as_written(sim, tmp_path: Path, monkeypatch) -> None:
    """CrewAI interpolates nothing when a kickoff has no inputs: ``kickoff()`` runs, and the
    ``{placeholders}`` of descriptions, expected outputs, output files and agents stay."""
    monkeypatch.chdir(tmp_path)
    agent = Agent(
        role="{topic} researcher",
        goal="Find facts about {topic}",
        backstory="An expert.",
        llm=sim_llm(sim.base_url),
    )
    task = Task(
        description="Research {topic}",
        expected_output="Notes on {topic}",
        output_file="notes_{topic}.md",
        agent=agent,
    )
    for inputs in (None, {}):
        out = (await Crew(agents=[agent], tasks=[task]).akickoff(inputs)).tasks_output[0]
        assert (out.description, out.expected_output) == ("Research {topic}", "Notes on {topic}")
        assert out.agent == "{topic} researcher"
        assert "Find facts about {topic}" in out.messages[0]["content"]
        assert read("notes_{topic}.md") == out.raw


async def test_some_inputs_make_every_placeholder_required(sim) -> None:
    """With inputs given, a placeholder without one fails before any LLM call, as in CrewAI
    (a ``ValueError``; CrewAI raises a bare ``KeyError`` for an agent's role, goal or
    backstory, fastcrew its ``InputError``, a ``ValueError``, for every field)."""
    agent = Agent(role="{who}", goal="g", backstory="b", llm=sim_llm(sim.base_url))
    cases = [
        (Task(description="D {topic}", expected_output="E", agent=agent), "topic"),
        (Task(description="D", expected_output="E {fmt}", agent=agent), "fmt"),
        (
            Task(description="D", expected_output="E", output_file="o/{name}.md", agent=agent),
            "name",
        ),
        (Task(description="D", expected_output="E", agent=agent), "who"),
    ]
    for task, missing in cases:
        with pytest.raises(InputError, match=f"missing input '{missing}'") as info:
            await Crew(agents=[agent], tasks=[task]).akickoff({"other": "x"})
        assert isinstance(info.value, ValueError)
    assert sim.stats()["requests_total"] == 0


def test_interpolate_only_semantics() -> None:
    """``test_interpolate_only`` and ``test_interpolate_only_with_dict_inside_expected_output``
    (CrewAI's ``interpolate_only``; fastcrew's renderer has the same rules): JSON braces are
    left alone, identifier placeholders are filled."""
    json_string = '{"info": "Look at {placeholder}", "nested": {"val": "{nestedVal}"}}'
    result = render(json_string, {"placeholder": "the data", "nestedVal": "something else"}, "t")
    assert '"info": "Look at the data"' in result
    assert '"val": "something else"' in result
    assert "{placeholder}" not in result
    assert "{nestedVal}" not in result
    hello = render("Hello {name}, welcome to {place}!", {"name": "John", "place": "CrewAI"}, "t")
    assert hello == "Hello John, welcome to CrewAI!"
    assert render("", {"unused": "value"}, "t") == ""
    assert render("Hello, this is a test", {"unused": "value"}, "t") == "Hello, this is a test"
    questions = '{"questions": {"main_question": "What is the user\'s name?"}}'
    assert render(questions, {"questions": {"main_question": "?"}}, "t") == questions


def test_interpolate_lists_dicts_and_nested_structures() -> None:
    """``test_interpolate_with_list_of_strings``, ``test_interpolate_with_list_of_dicts``,
    ``test_interpolate_with_nested_structures``, ``test_interpolate_with_special_characters``,
    ``test_interpolate_mixed_types``,
    ``test_interpolate_complex_combination``, ``test_interpolate_valid_complex_types``,
    ``test_interpolate_valid_types``: values are written as ``str(value)`` (Python's literal
    form, so ``ast.literal_eval`` reads them back)."""
    items = ["apple", "banana", "cherry"]
    assert render("Available items: {items}", {"items": items}, "t") == f"Available items: {items}"
    assert render("Available items: {items}", {"items": []}, "t") == "Available items: []"
    values: list[Any] = [
        [{"name": "Alice", "age": 30, "skills": ["Python", "AI"]}, {"name": "Bob", "age": 25}],
        {"name": "TechCorp", "departments": [{"regions": {"north": 5, "south": 3}}]},
        {
            "quotes": "This has \"double\" and 'single' quotes",
            "unicode": "文字化けテスト",
            "symbols": "!@#$%^&*()",
            "empty": "",
        },
        {"samples": 1000, "ratio": 2.5, "metadata": {"validated": True, "tags": ["demo"]}},
        {"active": True, "deleted": False, "optional": None, "nested": {"empty": None}},
    ]
    for value in values:
        check_inputs({"data": value})
        assert ast.literal_eval(render("{data}", {"data": value}, "t")) == value


def test_interpolate_invalid_and_custom_types_are_refused() -> None:
    """``test_interpolate_invalid_type_validation`` and
    ``test_interpolate_custom_object_validation``: a set or any other object, at any depth, is
    refused (a ``ValueError``)."""

    class CustomObject:
        def __str__(self) -> str:
            return "5"

    bad: list[Any] = [
        set(),
        {"name": "John", "tags": {"a", "b"}},
        CustomObject(),
        {"valid": 1, "invalid": CustomObject()},
        [1, "valid", CustomObject()],
        {"level1": {"level2": [{"level3": CustomObject()}]}},
    ]
    for value in bad:
        with pytest.raises(InputError, match=r"set|CustomObject") as info:
            check_inputs({"data": value})
        assert isinstance(info.value, ValueError)


def test_interpolate_edge_cases() -> None:
    assert render("{}", {"data": {}}, "t") == "{}"
    assert render("[]", {"data": []}, "t") == "[]"
    assert render("{num}", {"num": 42}, "t") == "42"
    assert render("{num}", {"num": 3.14}, "t") == "3.14"
    assert render("{flag}", {"flag": True}, "t") == "True"
    assert render("{flag}", {"flag": False}, "t") == "False"


async def test_task_interpolation_with_hyphens(sim) -> None:
    """Hyphenated placeholders are filled. CrewAI's test reads the rewritten ``task.prompt()``
    after the kickoff; fastcrew's template is unchanged, the run's prompt has the value."""
    agent = scorer(sim.base_url)
    task = Task(
        description="be an assistant that responds with {interpolation-with-hyphens}",
        expected_output="The response should be addressing: {interpolation-with-hyphens}",
        agent=agent,
    )
    crew = Crew(agents=[agent], tasks=[task])
    out = (await crew.akickoff({"interpolation-with-hyphens": "say hello world"})).tasks_output[0]
    assert "say hello world" in out.messages[1]["content"]
    assert "{interpolation-with-hyphens}" in task.prompt()


# -- output_file ------------------------------------------------------------------------------


def test_output_file_validation(tmp_path: Path) -> None:
    def output_file(path: str) -> str | None:
        return Task(
            description="Test task", expected_output="Test output", output_file=path
        ).output_file

    assert output_file("output.txt") == "output.txt"
    # CrewAI drops the leading "/" of an absolute path (writing under the working directory);
    # fastcrew keeps it absolute: the file goes where it was asked to go.
    assert output_file(str(tmp_path / "output.txt")) == str(tmp_path / "output.txt")
    assert output_file("{dir}/output_{date}.txt") == "{dir}/output_{date}.txt"
    refused = [
        ("../output.txt", "Path traversal"),
        ("folder/../output.txt", "Path traversal"),
        ("output.txt | rm -rf /", "Shell special characters"),
        ("~/output.txt", "Shell expansion"),
        ("$HOME/output.txt", "Shell expansion"),
        ("{invalid-name}/output.txt", "Invalid template variable"),
    ]
    for path, message in refused:
        with pytest.raises(ValueError, match=message):
            output_file(path)


async def test_output_file_rendered_from_inputs_is_checked_too(sim, tmp_path: Path) -> None:
    """fastcrew only (CrewAI checks the template): an input cannot put ``..`` into the path;
    the run fails before any LLM call."""
    agent = scorer(sim.base_url)
    task = Task(
        description="x", expected_output="y", output_file=str(tmp_path / "{name}.md"), agent=agent
    )
    with pytest.raises(InputError, match="Path traversal"):
        await Crew(agents=[agent], tasks=[task]).akickoff({"name": "../escaped"})
    assert sim.stats()["requests_total"] == 0


def test_create_directory(spawned: SpawnedSim, tmp_path: Path, monkeypatch) -> None:
    """``test_create_directory_true``, ``test_create_directory_false``,
    ``test_create_directory_default``, ``test_create_directory_with_existing_directory`` and
    ``test_github_issue_3149_reproduction``, through runs (CrewAI's call ``_save_file``)."""
    monkeypatch.chdir(tmp_path)
    agent = scorer(spawned.base_url)
    default = Task(description="x", expected_output="y", output_file="test_output.txt")
    assert default.create_directory is True
    assert default.output_file == "test_output.txt"

    made = Task(
        description="x",
        expected_output="y",
        output_file="test_create_dir/output.txt",
        create_directory=True,
    )
    out = made.execute_sync(agent=agent)
    assert read("test_create_dir/output.txt") == out.raw

    missing = Task(
        description="x",
        expected_output="y",
        output_file="nonexistent_test_dir/output.txt",
        create_directory=False,
    )
    with pytest.raises(
        RuntimeError, match=r"Directory .* does not exist and create_directory is False"
    ):
        missing.execute_sync(agent=agent)
    assert not Path("nonexistent_test_dir").exists()

    os.mkdir("existing_test_dir")
    existing = Task(
        description="x",
        expected_output="y",
        output_file="existing_test_dir/output.txt",
        create_directory=False,
    )
    existing.execute_sync(agent=agent)
    assert Path("existing_test_dir/output.txt").exists()


# -- markdown (tests/test_markdown_task.py) -----------------------------------------------------


MARKDOWN = "Format the answer in Markdown."  # fastcrew's wording of CrewAI's instruction


@pytest.mark.parametrize("markdown", [True, False])
def test_markdown_option_in_task_prompt(markdown: bool) -> None:
    task = Task(
        description="Research advances in AI in 2023",
        expected_output="A summary of key AI advances in 2023",
        markdown=markdown,
    )
    prompt = task.prompt()
    assert "Research advances in AI in 2023" in prompt
    assert "A summary of key AI advances in 2023" in prompt
    assert (MARKDOWN in prompt) is markdown


def test_markdown_with_empty_description() -> None:
    prompt = Task(description="", expected_output="A summary", markdown=True).prompt()
    assert prompt.strip() != ""
    assert "A summary" in prompt
    assert MARKDOWN in prompt


async def test_markdown_with_complex_output_format(sim) -> None:
    class ResearchOutput(BaseModel):
        title: str
        findings: list[str]

    agent = scorer(sim.base_url)
    task = Task(
        description="Research topic",
        expected_output="Research results",
        markdown=True,
        output_json=ResearchOutput,
        agent=agent,
    )
    prompt = task.prompt()
    assert MARKDOWN in prompt
    assert "Research topic" in prompt
    assert "Research results" in prompt
    out = (await Crew(agents=[agent], tasks=[task]).akickoff()).tasks_output[0]
    assert MARKDOWN in out.messages[1]["content"]  # the prompt sent is the same text
    assert set(out.json_dict or {}) == {"title", "findings"}
