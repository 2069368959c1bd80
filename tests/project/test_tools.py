"""``tools:`` in YAML names ``@tool`` methods (agents and tasks), and the templates' custom
tool (``from fastcrew.tools import BaseTool``) is a working tool."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fastcrew._spec import import_target
from fastcrew.errors import ProjectConfigError
from fastcrew.tools import BaseTool

from .test_crew_base import PEOPLE, write_project

TEMPLATES = Path(__file__).with_name("templates")

TOOLED = """
from fastcrew.project import CrewBase, tool
from fastcrew.tools import BaseTool


class Lookup(BaseTool):
    name: str = "lookup"
    description: str = "Looks a word up."

    def _run(self, word: str) -> str:
        return f"{word}: a word"


@CrewBase
class Newsroom:
    agents_config = "conf/people.yaml"
    tasks_config = "conf/work.yaml"

    @tool
    def lookup(self):
        return Lookup()

    @tool
    def other(self):
        return Lookup(name="other")
"""


def test_tools_names_resolve_to_the_tool_methods(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    people = PEOPLE.replace("  llm: quick\n", "  tools: [lookup, other]\n")
    work = "research:\n  description: Look up {topic}\n  expected_output: x\n  tools: [other]\n"
    spec = write_project(tmp_path, TOOLED, **{"conf/people.yaml": people, "conf/work.yaml": work})
    project = import_target(f"{spec}:Newsroom", "--crew", "a class")()
    researcher = project.agents_config["researcher"]
    assert researcher["tools"] == [project.lookup(), project.other()]
    assert project.tasks_config["research"]["tools"] == [project.other()]
    assert project.lookup() is project.lookup()  # one tool object per instance
    assert project.lookup().run(word="tide") == "tide: a word"


def test_an_unknown_tool_name(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    people = PEOPLE.replace("  llm: quick\n", "  tools: [lookpu]\n")
    spec = write_project(tmp_path, TOOLED, **{"conf/people.yaml": people})
    with pytest.raises(ProjectConfigError) as caught:
        import_target(f"{spec}:Newsroom", "--crew", "a class")()
    error = caught.value
    assert (Path(error.file).name, error.entry, error.key) == ("people.yaml", "researcher", "tools")
    assert "'lookpu' is not an @tool of the class (did you mean 'lookup'?)" in str(error)


@pytest.mark.parametrize("project", ["research_crew", "content_flow"])
def test_the_templates_custom_tool(project, monkeypatch):
    monkeypatch.syspath_prepend(str(TEMPLATES / project / "src"))
    module = __import__(f"{project}.tools.custom_tool", fromlist=["MyCustomTool"])
    try:
        tool = module.MyCustomTool()
        assert isinstance(tool, BaseTool)
        assert tool.name == "Name of my tool"
        assert (
            tool.run(argument="x")
            == "this is an example of a tool output, ignore it and move along."
        )
        assert tool.openai_spec()["function"]["parameters"]["required"] == ["argument"]
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == project]:
            del sys.modules[name]
