"""``tools:`` in YAML names ``@tool`` methods (agents and tasks), and the templates' custom
tool (``from fastcrew.tools import BaseTool``) is a working tool."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fastcrew import LLM, Agent, Crew, Task
from fastcrew._spec import import_target
from fastcrew.batch.crewspec import load_crew
from fastcrew.errors import ProjectConfigError
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.sim import serve
from fastcrew.tools import BaseTool

from .test_crew_base import PEOPLE, write_project

TEMPLATES = Path(__file__).with_name("templates")
TOOL_OUTPUT = "this is an example of a tool output, ignore it and move along."

TOOLED = """
from fastcrew import Agent, Crew, Task
from fastcrew.project import CrewBase, agent, crew, task, tool
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

    @agent
    def researcher(self):
        return Agent(config=self.agents_config["researcher"])

    @task
    def research(self):
        return Task(config=self.tasks_config["research"])

    @crew
    def crew(self):
        return Crew(agents=self.agents, tasks=self.tasks)

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


ONE_AGENT = """
researcher:
  role: Researcher on {topic}
  goal: Find facts
  backstory: Careful.
  tools: [lookup]
"""
ONE_TASK = """
research:
  description: Look up {topic}
  expected_output: One line
  agent: researcher
"""


async def test_a_yaml_agent_calls_its_tool(tmp_path, monkeypatch):
    async with serve(tool_rounds=1, parallel_calls=1) as sim:
        monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url)
        files = {"conf/people.yaml": ONE_AGENT, "conf/work.yaml": ONE_TASK}
        spec = write_project(tmp_path, TOOLED, **files)
        out = await load_crew(f"{spec}:Newsroom").akickoff({"topic": "tides"})
        stats = sim.stats()
    assert ": a word" in out.raw  # the simulator's final answer quotes the tool's result
    assert (stats["tool_calls"], stats["tool_results"]) == (1, 1)


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
async def test_the_templates_custom_tool(project, monkeypatch):
    monkeypatch.syspath_prepend(str(TEMPLATES / project / "src"))
    module = __import__(f"{project}.tools.custom_tool", fromlist=["MyCustomTool"])
    try:
        tool = module.MyCustomTool()
        assert isinstance(tool, BaseTool)
        assert tool.name == "Name of my tool"
        assert tool.run(argument="x") == TOOL_OUTPUT
        assert tool.openai_spec()["function"]["parameters"]["required"] == ["argument"]
        async with serve(tool_rounds=1, parallel_calls=1) as sim:
            llm = LLM(
                "openai/sim-model",
                base_url=sim.base_url,
                retry=RetryPolicy(max_attempts=1),
                rate_limit=RateLimit(rpm=None, tpm=None),
            )
            helper = Agent(role="Helper", goal="Help", backstory="Kind.", llm=llm, tools=[tool])
            job = Task(description="Use the tool", expected_output="One line", agent=helper)
            out = await Crew(agents=[helper], tasks=[job]).akickoff()
            assert sim.stats()["tool_results"] == 1
        assert "this is an example of a tool output" in out.raw
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == project]:
            del sys.modules[name]
