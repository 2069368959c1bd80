"""crewai_tools and CrewAI tool objects, as CrewAI users write them, run by fastcrew crews
against the simulator: ``kickoff``, ``akickoff_for_each`` and ``fastcrew batch``."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from batch.helpers import batch_cmd, read_rows, write_inputs

from fastcrew import Crew, CrewOutput
from fastcrew.process_runtime import get_runtime
from fastcrew.sim import SpawnedSim
from fastcrew.tools.adapters import CrewAITool

from . import crews
from .conftest import FakeWeb
from .crews import FACT

CREWS = crews.__file__


def build(spawned: SpawnedSim, factory: Callable[[], Crew]) -> Crew:
    """A crew from ``factory`` whose LLMs go to the simulator."""
    with get_runtime().redirecting(spawned.base_url):
        return factory()


def tool_messages(out: CrewOutput) -> list[str]:
    """What the tools returned to the model in a one-task crew."""
    return [m["content"] for m in out.tasks_output[0].messages if m["role"] == "tool"]


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 2,000-line file at a path of exactly ``PATH_CHARS`` characters (the model names it:
    see ``crews.file_crew``) and a directory with a subdirectory."""
    short = Path(tempfile.mkdtemp(prefix="fc"))
    notes = short / ("n" * (crews.PATH_CHARS - len(str(short)) - 5) + ".txt")
    notes.write_text("".join(f"line {i}: {FACT}\n" for i in range(1, 2001)))
    (tmp_path / "notes.txt").write_text(FACT)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.md").write_text("more")
    monkeypatch.setenv(crews.FILE_ENV, str(notes))
    monkeypatch.setenv(crews.DIR_ENV, str(tmp_path))
    yield tmp_path
    shutil.rmtree(short)


def test_file_and_directory_read_tools_in_kickoff(spawned: SpawnedSim, files: Path):
    out = build(spawned, crews.file_crew).kickoff(inputs={"topic": "tides"})
    calls = [m for m in out.tasks_output[0].messages if m.get("tool_calls")]
    arguments = json.loads(calls[0]["tool_calls"][0]["function"]["arguments"])
    assert arguments["file_path"] == os.environ[crews.FILE_ENV]
    start = arguments["start_line"] or 1  # the tool reads 0 (and None) as line 1
    count = arguments["line_count"]
    (text,) = tool_messages(out)
    lines = text.splitlines()  # the model's start_line and line_count (0: to the end)
    assert lines == [f"line {i}: {FACT}" for i in range(start, start + len(lines))]
    assert len(lines) == (min(count, 2001 - start) if count else 2001 - start)
    assert f"read_a_file_s_content: line {start}:" in out.raw  # the answer quotes the result
    out = build(spawned, crews.directory_crew).kickoff(inputs={"topic": "tides"})
    (listing,) = tool_messages(out)
    assert listing.startswith("File paths: \n-")
    assert "notes.txt" in listing
    assert "sub/more.md" in listing


def test_scrape_website_tool_against_a_local_page(spawned: SpawnedSim, web: FakeWeb, monkeypatch):
    monkeypatch.setenv(crews.HTTP_ENV, web.url)
    out = build(spawned, crews.scrape_crew).kickoff(inputs={"topic": "tides"})
    (page,) = tool_messages(out)
    assert FACT in page
    assert "<p>" not in page


def test_crewai_tools_own_guard_refusing_loopback_is_the_observation(
    spawned: SpawnedSim, web: FakeWeb, monkeypatch
):
    monkeypatch.delenv("CREWAI_TOOLS_ALLOW_UNSAFE_PATHS")
    monkeypatch.setenv(crews.HTTP_ENV, web.url)
    out = build(spawned, crews.scrape_crew).kickoff(inputs={"topic": "tides"})
    (observation,) = tool_messages(out)
    assert observation.startswith("Error: tool 'Read website content' raised ValueError")
    assert out.tasks_output[0].tools_errors == 1


def test_serper_dev_tool_against_a_fake_endpoint(spawned: SpawnedSim, web: FakeWeb, monkeypatch):
    monkeypatch.setenv(crews.HTTP_ENV, web.url)
    before = len(web.searches)
    out = build(spawned, crews.serper_crew).kickoff(inputs={"topic": "tides"})
    headers, body = web.searches[before]
    assert headers["X-API-KEY"] == "serper-test-key-not-real"
    assert body["q"].startswith("Tell me about tides")  # the model's search_query argument
    (results,) = tool_messages(out)
    assert FACT in results
    assert "Tide tables" in results


async def test_a_crewai_basetool_subclass_in_akickoff_for_each(spawned: SpawnedSim):
    crew = build(spawned, crews.forecast_crew)
    tool = crew.agents[0].tools[0]
    assert isinstance(tool, crews.ForecastTool)  # the agent keeps the object given
    outs = await crew.akickoff_for_each([{"topic": f"city-{i}"} for i in range(40)])
    for i, out in enumerate(outs):
        (text,) = tool_messages(out)
        assert re.fullmatch(rf"forecast: sunny for \d day\(s\) in Tell me about city-{i} .*", text)
    assert len(tool.calls) == 40 == tool.current_usage_count  # counted on the CrewAI object
    assert all(1 <= call["days"] <= 7 for call in tool.calls)  # validated, typed arguments


def test_crewai_tool_decorator_and_result_as_answer(spawned: SpawnedSim):
    out = build(spawned, crews.counter_crew).kickoff(inputs={"topic": "tides"})
    (count,) = tool_messages(out)
    assert count.startswith("word count: ")
    assert count.endswith(" words")
    out = build(spawned, crews.verdict_crew).kickoff(inputs={"topic": "tides"})
    assert out.raw.startswith("VERDICT: approved (")  # the tool's result is the answer


async def test_async_crewai_tools_run_on_the_loop_and_sync_ones_in_the_pool(spawned: SpawnedSim):
    seen: dict[str, object] = {}

    class Where(crews.CrewAIBaseTool):
        name: str = "Where"
        description: str = "Says where it runs."

        def _run(self) -> str:
            seen["sync"] = threading.current_thread()
            return "sync"

        async def _arun(self) -> str:
            import asyncio

            seen["async"] = asyncio.get_running_loop()
            return "async"

    @crews.crewai_tool("Sync only")
    def sync_only() -> str:
        """Runs in a thread."""
        seen["func"] = threading.current_thread()
        return "func"

    import asyncio

    both, plain = CrewAITool.adapt(Where()), CrewAITool.adapt(sync_only)
    assert (await both.ainvoke("{}")).text == "async"  # _arun preferred when overridden
    assert seen["async"] is asyncio.get_running_loop()
    assert (await plain.ainvoke("{}")).text == "func"
    assert seen["func"] is not threading.current_thread()
    assert plain.run() == "func"
    assert "sync" not in seen


async def test_arguments_are_checked_before_a_crewai_tool_runs():
    tool = crews.ForecastTool()
    adapted = CrewAITool.adapt(tool)
    result = await adapted.ainvoke('{"city": "Oslo", "days": 30}')
    assert result.error_kind == "arguments"
    assert "days" in result.text
    assert tool.calls == []  # never called with bad arguments
    result = await adapted.ainvoke('{"city": "Oslo", "days": "3"}')
    assert result.text == "forecast: sunny for 3 day(s) in Oslo"


async def test_max_usage_count_is_per_run_and_cache_function_is_read_live():
    tool = crews.ForecastTool(max_usage_count=1)
    tool.cache_function = lambda args, result: args["city"] != "nocache"
    adapted = CrewAITool.adapt(tool)
    from fastcrew.tools import ToolRunState

    first, second = ToolRunState(), ToolRunState()
    assert not (await adapted.ainvoke('{"city": "A"}', state=first)).error
    hit = await adapted.ainvoke('{"city": "A"}', state=first)
    assert hit.from_cache
    limited = await adapted.ainvoke('{"city": "B"}', state=first)
    assert limited.error_kind == "usage_limit"
    assert "usage limit of 1" in limited.text
    assert not (await adapted.ainvoke('{"city": "nocache"}', state=second)).error
    assert (await adapted.ainvoke('{"city": "nocache"}', state=second)).error_kind == "usage_limit"
    assert len(tool.calls) == 2


QUOTES = {  # what the simulator's final answer quotes of each tool's result
    "file_crew": "read_a_file_s_content: line ",
    "directory_crew": "list_files_in_directory: File paths:",
    "scrape_crew": "read_website_content: The following text is scraped website content: Tides",
    "serper_crew": "search_the_internet_with_serper: {'searchParameters'",
    "forecast_crew": "forecast: forecast: sunny for",
    "counter_crew": "word_counter: word count:",
    "verdict_crew": "VERDICT: approved (",  # result_as_answer: the whole answer
}
MODES = ["kickoff", "akickoff_for_each", "batch"]


@pytest.fixture
def env(files: Path, web: FakeWeb, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(crews.HTTP_ENV, web.url)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("factory", list(QUOTES))
async def test_every_crewai_tool_crew_in_every_way_to_run_it(
    tmp_path: Path, spawned: SpawnedSim, env: None, factory: str, mode: str
):
    n = {"kickoff": 1, "akickoff_for_each": 12, "batch": 30}[mode]
    if mode == "batch":
        inputs = write_inputs(tmp_path / "in.jsonl", n)
        out = tmp_path / "out.jsonl"
        cmd = batch_cmd(inputs, out, spawned.base_url, spec=f"{CREWS}:{factory}")
        done = await asyncio.to_thread(subprocess.run, cmd, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        rows = read_rows(out)
        assert [row["status"] for row in rows] == ["ok"] * n
        answers = [row["output"]["raw"] for row in rows]
    else:
        crew = build(spawned, getattr(crews, factory))
        rows_in = [{"topic": f"topic-{i}"} for i in range(n)]
        if mode == "kickoff":  # sync: on the runtime's home loop, from a thread
            outs = [await asyncio.to_thread(crew.kickoff, inputs=rows_in[0])]
        else:
            outs = await crew.akickoff_for_each(rows_in)
        answers = [out.raw for out in outs]
    for i, answer in enumerate(answers):
        quote = QUOTES[factory]
        if factory == "verdict_crew":
            assert answer.startswith(quote), answer
        else:
            assert f"Tell me about topic-{i} " in answer or factory == "file_crew"
            assert quote in answer, answer


def test_adapting_a_crewai_tool_does_not_need_crewai_imported_by_fastcrew():
    code = (
        "import sys, fastcrew.tools.adapters as a, fastcrew\n"
        "assert 'crewai' not in sys.modules\n"
        "from langchain_core.tools import tool\n"
        "@tool\n"
        "def f(x: int) -> int:\n"
        "    'Doubles.'\n"
        "    return 2 * x\n"
        "agent = fastcrew.Agent(role='r', goal='g', backstory='b', llm='openai/x',"
        " tools=[f])\n"
        "assert agent.native_tools()[0].run(x=2) == 4\n"
        "assert not [m for m in sys.modules if m.startswith('crewai')], 'crewai imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, env={"OPENAI_API_KEY": "sk-none"}
    )
    assert done.returncode == 0, done.stderr.decode()


def test_the_tools_of_a_crewai_tools_mcp_server_adapter(spawned: SpawnedSim):
    from crewai_tools import MCPServerAdapter
    from mcp import StdioServerParameters

    server = str(Path(__file__).with_name("mcp_server.py"))
    params = StdioServerParameters(command=sys.executable, args=[server])
    with MCPServerAdapter(params) as tools:
        assert [t.name for t in tools] == ["tide_height"]
        crew = build(spawned, lambda: crews.one_tool_crew(tools[0]))
        out = crew.kickoff(inputs={"topic": "tides"})
        assert tool_messages(out) == [
            "TIDE at Tell me about tides Deliver: One line. R: 4.2 metres"
        ]
        outs = crew.kickoff_for_each([{"topic": f"h{i}"} for i in range(10)])
    for i, out in enumerate(outs):
        (text,) = tool_messages(out)
        assert text.startswith(f"TIDE at Tell me about h{i} ")


PROJECT = """
import os
from crewai_tools import SerperDevTool
from fastcrew import Agent, Crew, Task
from fastcrew.project import CrewBase, agent, crew, task, tool


@CrewBase
class Desk:
    agents_config = "config/agents.yaml"
    tasks_config = "config/tasks.yaml"

    @tool
    def search(self):
        return SerperDevTool(base_url=os.environ["FASTCREW_TEST_HTTP"], n_results=1)

    @agent
    def researcher(self):
        return Agent(config=self.agents_config["researcher"])

    @task
    def research(self):
        return Task(config=self.tasks_config["research"])

    @crew
    def crew(self):
        return Crew(agents=self.agents, tasks=self.tasks)
"""
AGENTS = (
    "researcher:\n  role: Researcher\n  goal: Find {topic}\n  backstory: Careful.\n"
    "  tools: [search]\n"
)
TASKS = (
    "research:\n  description: Search {topic}\n  expected_output: One line\n  agent: researcher\n"
)


def test_a_crewbase_projects_yaml_tools_name_a_crewai_tool(
    tmp_path: Path, spawned: SpawnedSim, web: FakeWeb, monkeypatch
):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "agents.yaml").write_text(AGENTS)
    (tmp_path / "config" / "tasks.yaml").write_text(TASKS)
    (tmp_path / "desk.py").write_text(PROJECT)
    monkeypatch.setenv(crews.HTTP_ENV, web.url)
    inputs = write_inputs(tmp_path / "in.jsonl", 20)
    out = tmp_path / "out.jsonl"
    cmd = batch_cmd(inputs, out, spawned.base_url, spec=f"{tmp_path / 'desk.py'}:Desk")
    done = subprocess.run(cmd, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    rows = read_rows(out)
    assert [row["status"] for row in rows] == ["ok"] * 20
    for row in rows:
        assert "search_the_internet_with_serper: {" in row["output"]["raw"], row["output"]["raw"]
    queries = [body["q"] for _, body in web.searches]
    for i in range(20):  # each row's agent searched for its own topic
        assert any(q.startswith(f"Search topic-{i} Deliver: One line") for q in queries)
