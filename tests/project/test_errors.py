"""Bad project config fails with a ProjectConfigError naming the file, the entry and the key
(never a bare KeyError or TypeError), and ``fastcrew run`` outside a project says so."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastcrew._spec import import_target
from fastcrew.batch.crewspec import load_crew
from fastcrew.cli import main
from fastcrew.errors import ProjectConfigError

from .test_crew_base import PEOPLE, WORK, write_project


@pytest.fixture(autouse=True)
def no_key_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing is called


def failure(tmp_path: Path, **files: str) -> ProjectConfigError:
    spec = write_project(tmp_path / "proj", **files)
    with pytest.raises(ProjectConfigError) as caught:
        load_crew(f"{spec}:Newsroom")
    assert not isinstance(caught.value, KeyError | TypeError)
    return caught.value


def test_missing_file(tmp_path):
    spec = write_project(tmp_path / "proj")
    (tmp_path / "proj" / "conf" / "work.yaml").unlink()
    with pytest.raises(ProjectConfigError) as caught:
        load_crew(f"{spec}:Newsroom")
    error = caught.value
    assert error.file == str(tmp_path / "proj" / "conf" / "work.yaml")
    assert f"tasks_config of Newsroom: {error.file} does not exist" in str(error)


def test_missing_default_file_is_named_when_an_entry_is_used(tmp_path):
    source = """
from fastcrew import Agent
from fastcrew.project import CrewBase, agent

@CrewBase
class Bare:
    @agent
    def helper(self):
        return Agent(config=self.agents_config["helper"])
"""
    path = tmp_path / "bare.py"
    path.write_text(source)
    bare = import_target(f"{path}:Bare", "--crew", "a class")()  # no YAML: fine until used
    with pytest.raises(ProjectConfigError) as caught:
        bare.helper()
    assert str(tmp_path / "config" / "agents.yaml") in str(caught.value)
    assert "does not exist" in str(caught.value)
    assert caught.value.entry == "helper"


def test_an_entry_the_file_lacks(tmp_path):
    error = failure(tmp_path, **{"conf/people.yaml": PEOPLE.replace("researcher:", "analyst:")})
    assert error.entry == "researcher"
    assert "has no entry 'researcher' (its entries: 'writer', 'analyst')" in str(error)
    assert "people.yaml" in str(error)


def test_unknown_agent_name_in_a_task(tmp_path):
    error = failure(tmp_path, **{"conf/work.yaml": WORK.replace("agent: writer", "agent: writr")})
    assert (Path(error.file).name, error.entry, error.key) == ("work.yaml", "summary", "agent")
    assert "'writr' is not an @agent of the class (did you mean 'writer'?)" in str(error)
    assert "entry 'summary', key 'agent'" in str(error)


def test_unknown_context_task(tmp_path):
    error = failure(tmp_path, **{"conf/work.yaml": WORK.replace("[research]", "[reserch]")})
    assert (error.entry, error.key) == ("summary", "context")
    assert "'reserch' is not an @task" in str(error)


def test_bad_key(tmp_path):
    error = failure(
        tmp_path, **{"conf/people.yaml": PEOPLE.replace("backstory: Terse.", "backstroy: Terse.")}
    )
    assert (Path(error.file).name, error.entry, error.key) == ("people.yaml", "writer", "backstroy")
    assert "unknown agent setting (did you mean 'backstory'?)" in str(error)


@pytest.mark.parametrize(
    ("file", "old", "new", "entry", "key", "says"),
    [
        ("conf/people.yaml", "max_iter: 3", "max_iter: many", "writer", "max_iter", "integer"),
        ("conf/people.yaml", "goal: Find facts", "goal: [a, b]", "researcher", "goal", "string"),
        ("conf/work.yaml", "[research]", "research", "summary", "context", "a list of @task"),
        ("conf/work.yaml", "agent: writer", "agent: [writer]", "summary", "agent", "an @agent"),
        (
            "conf/work.yaml",
            "output_json: Facts",
            "output_json: Fact",
            "research",
            "output_json",
            "not an @output_json",
        ),
        (
            "conf/work.yaml",
            "  callbacks: [note]",
            "  async_execution: sometimes",
            "summary",
            "async_execution",
            "boolean",
        ),
        (
            "conf/people.yaml",
            "llm: quick",
            "llm: {model: x}",
            "researcher",
            "llm",
            "a model string or an @llm method name",
        ),
    ],
)
def test_bad_type(tmp_path, file, old, new, entry, key, says):
    text = {"conf/people.yaml": PEOPLE, "conf/work.yaml": WORK}[file]
    assert old in text
    error = failure(tmp_path, **{file: text.replace(old, new)})
    assert (error.entry, error.key) == (entry, key)
    assert f"{Path(file).name}, entry {entry!r}, key {key!r}" in str(error)
    assert says in str(error)


def test_entry_that_is_not_a_mapping_and_a_switched_on_unsupported_feature(tmp_path):
    error = failure(tmp_path, **{"conf/people.yaml": PEOPLE + "editor: just text\n"})
    assert error.entry == "editor"
    assert "expected a mapping of settings" in str(error)
    error = failure(tmp_path / "b", **{"conf/people.yaml": PEOPLE + "  reasoning: true\n"})
    assert (error.entry, error.key) == ("researcher", "reasoning")
    assert "not supported by fastcrew yet" in str(error)


def test_invalid_yaml(tmp_path):
    error = failure(tmp_path, **{"conf/work.yaml": "research:\n  description: [unclosed\n"})
    assert Path(error.file).name == "work.yaml"
    assert "not valid YAML (line" in str(error)


def test_fastcrew_run_outside_a_project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2
    assert f"no pyproject.toml in {tmp_path}" in result.output
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2
    assert "not a CrewAI project" in result.output
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[project.scripts]\nother = "x.main:run"\n[tool.crewai]\n'
        'type = "crew"\n'
    )
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2
    assert "no [project.scripts] run_crew" in result.output
    assert "(scripts there: other)" in result.output


def test_a_context_cycle(tmp_path):
    work = WORK.replace("  output_json: Facts\n", "  context: [summary]\n")
    error = failure(tmp_path, **{"conf/work.yaml": work})
    assert error.entry == "research"
    assert "loop back to it (research -> summary -> research)" in str(error)


def test_fastcrew_run_of_a_failing_or_missing_script(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    package = tmp_path / "src" / "boom_crew"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text("def run():\n    raise RuntimeError('no luck')\n")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "boom_crew"\n[project.scripts]\nrun_crew = "boom_crew.main:run"\n'
        'kickoff = "boom_crew.flow:kickoff"\n'
    )
    monkeypatch.setattr(sys, "path", list(sys.path))
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 1
    assert "the project failed: RuntimeError: no luck" in result.output
    (tmp_path / "pyproject.toml").write_text(
        (tmp_path / "pyproject.toml").read_text() + '[tool.crewai]\ntype = "flow"\n'
    )
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2
    assert "cannot import 'boom_crew.flow' (the kickoff script of this flow project)" in (
        result.output
    )
