"""``@CrewBase`` projects written by hand: YAML keys mapped as CrewAI maps them (``llm`` from an
``@llm`` method or a model string, ``agent``, ``context``, ``output_json``, ``callbacks``),
paths relative to the class's file, definition order, kickoff hooks, per-instance memos,
one parse per file, and ``--crew path.py:Class`` loading."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from fastcrew import Crew
from fastcrew._spec import import_target
from fastcrew.batch.crewspec import load_crew
from fastcrew.project import _yaml

CREW_PY = '''
from pydantic import BaseModel

from fastcrew import LLM, Agent, Crew, Task
from fastcrew.project import (
    CrewBase, after_kickoff, agent, before_kickoff, callback, crew, llm, output_json, task
)

NOTES = []


@CrewBase
class Newsroom:
    """Agents are defined writer-first; the tasks use the researcher first."""

    agents_config = "conf/people.yaml"
    tasks_config = "conf/work.yaml"

    @output_json
    class Facts(BaseModel):
        items: list[str]

    @llm
    def quick(self):
        return LLM("openai/quick-model")

    @callback
    def note(self):
        return lambda output: NOTES.append(output.name)

    @agent
    def writer(self) -> Agent:
        return Agent(config=self.agents_config["writer"])

    @agent
    def researcher(self) -> Agent:
        return Agent(config=self.agents_config["researcher"])

    @task
    def research(self) -> Task:
        return Task(config=self.tasks_config["research"], callback=NOTES.append)

    @task
    def summary(self) -> Task:
        return Task(config=self.tasks_config["summary"])

    @before_kickoff
    def shout(self, inputs):
        return {**inputs, "topic": inputs["topic"].upper()}

    @after_kickoff
    def stamp(self, output):
        output.raw += " [checked]"
        return output

    @crew
    def crew(self) -> Crew:
        return Crew(agents=self.agents, tasks=self.tasks)
'''

PEOPLE = """
writer:
  role: Writer on {topic}
  goal: Write it up
  backstory: Terse.
  llm: openai/writer-model
  max_iter: 3
researcher:
  role: Researcher on {topic}
  goal: Find facts
  backstory: Careful.
  llm: quick
"""

WORK = """
research:
  description: List facts about {topic}
  expected_output: Three facts
  agent: researcher
  output_json: Facts
summary:
  description: Summarise the facts about {topic}
  expected_output: One paragraph
  agent: writer
  context: [research]
  output_file: out/{topic}.md
  callbacks: [note]
"""


def write_project(root: Path, crew_py: str = CREW_PY, **files: str) -> Path:
    """A project folder: ``crew.py`` and YAML files (name -> text, ``/`` in names)."""
    files = {"conf/people.yaml": PEOPLE, "conf/work.yaml": WORK, **files}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (root / "crew.py").write_text(crew_py)
    return root / "crew.py"


@pytest.fixture
def sim_env(sim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url)


async def test_yaml_keys_are_mapped_and_the_crew_runs(sim, sim_env, tmp_path, monkeypatch):
    spec = write_project(tmp_path / "proj")
    monkeypatch.chdir(tmp_path)
    cls = import_target(f"{spec}:Newsroom", "--crew", "a class")
    crew = load_crew(cls)  # a @CrewBase class is a factory: Newsroom().crew()
    assert isinstance(crew, Crew)
    assert crew.name == "Newsroom"
    writer, researcher = crew.agents  # definition order of the @agent methods
    research, summary = crew.tasks
    assert (writer.role, researcher.role) == ("Writer on {topic}", "Researcher on {topic}")
    assert writer.llm.model == "openai/writer-model"  # a model string
    assert researcher.llm.model == "openai/quick-model"  # the @llm method
    assert writer.max_iter == 3
    assert (research.name, summary.name) == ("research", "summary")  # the method names
    assert research.agent is researcher
    assert summary.agent is writer
    assert summary.context == [research]
    assert research.output_json.__name__ == "Facts"

    result = await crew.akickoff({"topic": "tides"})
    facts, text = result.tasks_output
    assert isinstance(facts.json_dict["items"], list)
    assert "Summarise the facts about TIDES" in text.raw  # the before_kickoff hook
    assert facts.raw in text.messages[1]["content"]
    assert result.raw == text.raw + " [checked]"  # the after_kickoff hook
    assert (tmp_path / "out" / "TIDES.md").read_text() == text.raw
    notes = sys.modules[cls.__module__].NOTES
    assert notes == [facts]  # callbacks: [note] is resolved, then dropped as CrewAI does


def test_instances_memoize_their_own_objects(sim_env, tmp_path):
    spec = write_project(tmp_path / "proj")
    cls = import_target(f"{spec}:Newsroom", "--crew", "a class")
    one, two = cls(), cls()
    assert one.writer() is one.writer() is one.crew().agents[0]
    assert one.writer() is not two.writer()
    assert one.crew() is one.crew()
    assert one.tasks_config["summary"]["agent"] is one.writer()
    assert one.agents_config["researcher"]["llm"] is one.quick()
    assert "callbacks" not in one.tasks_config["summary"]


def test_each_file_is_parsed_once_until_it_changes(sim_env, tmp_path):
    spec = write_project(tmp_path / "proj")
    cls = import_target(f"{spec}:Newsroom", "--crew", "a class")
    people = str(tmp_path / "proj" / "conf" / "people.yaml")
    parsed = _yaml.load_yaml(people, "test")
    cls()
    cls()
    assert _yaml.load_yaml(people, "test") is parsed  # no new parse for new instances
    path = Path(people)
    path.write_text(PEOPLE.replace("Terse.", "Wordy."))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert cls().writer().backstory == "Wordy."


def test_default_paths_and_a_crew_with_tasks_only_in_code(sim_env, tmp_path):
    crew_py = """
from fastcrew import Agent, Crew, Task
from fastcrew.project import CrewBase, agent, crew, task

@CrewBase
class Small:
    @agent
    def helper(self):
        return Agent(config=self.agents_config["helper"])

    @task
    def answer(self):
        return Task(description="Answer", expected_output="x", agent=self.helper())

    @crew
    def crew(self):
        return Crew(agents=self.agents, tasks=self.tasks, name="given")
"""
    agents = "helper:\n  role: Helper\n  goal: Help\n  backstory: Kind.\n"
    spec = write_project(tmp_path / "p", crew_py, **{"config/agents.yaml": agents})
    crew = load_crew(f"{spec}:Small")  # what --crew path.py:Small does
    assert crew.name == "given"  # a name given in code is kept
    assert [a.role for a in crew.agents] == ["Helper"]
    assert crew.tasks[0].name == "answer"


def test_a_subclass_overrides_a_member_in_place(sim_env, tmp_path):
    crew_py = (
        CREW_PY
        + """

@CrewBase
class Desk(Newsroom):
    @agent
    def writer(self) -> Agent:
        return Agent(config=self.agents_config["writer"], role="Desk writer")
"""
    )
    spec = write_project(tmp_path / "proj", crew_py)
    crew = load_crew(f"{spec}:Desk")
    assert [a.role for a in crew.agents] == ["Desk writer", "Researcher on {topic}"]
    assert crew.tasks[1].agent is crew.agents[0]
    assert crew.name == "Desk"
