"""The projects ``crewai create crew`` / ``crewai create flow`` make (CrewAI 1.15.30, imports
renamed, see templates/README.md) run on the simulator: in process, by ``fastcrew run``
(their main.py kickoff) and by ``fastcrew batch --crew src/...:ResearchCrew`` / ``--flow``
over real worker processes — ordered, and resumable after the supervisor is killed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch.helpers import (
    batch_cmd,
    deterministic,
    journal_rows,
    kill,
    read_rows,
    running,
    wait_for,
    worker_pids,
)

from fastcrew.sim import SpawnedSim, spawn

TEMPLATES = Path(__file__).with_name("templates")
CREW_SPEC = "src/research_crew/crew.py:ResearchCrew"
FLOW_SPEC = "src/content_flow/main.py:ContentFlow"
N = 120


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    """20 ms per call: a batch of N two-call rows at 8 in flight takes about a second."""
    with spawn(seed=7, latency_ms=20) as server:
        yield server


@pytest.fixture
def llm_env(sim: SpawnedSim, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The templates' agents name no LLM: it comes from the environment, as for a user."""
    for name in ("OPENAI_API_KEY", "OPENAI_API_BASE", "MODEL", "OPENAI_MODEL_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url)
    return {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}


def _project(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(TEMPLATES / name, root)
    return root


@pytest.fixture
def fresh_modules() -> Iterator[None]:
    """The template packages import afresh in each test (each has its own copy)."""

    def purge() -> None:
        for name in list(sys.modules):
            if name.split(".")[0] in ("research_crew", "content_flow"):
                del sys.modules[name]

    purge()
    yield
    purge()


def _rows(path: Path, n: int) -> Path:
    lines = [
        json.dumps({"id": f"r{i}", "topic": f"topic-{i}", "current_year": "2026"}) for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _assert_crew_rows(rows: list[dict[str, Any]], n: int) -> None:
    assert [row["index"] for row in rows] == list(range(n))
    for i, row in enumerate(rows):
        assert (row["id"], row["status"]) == (f"r{i}", "ok"), row
        research, report = row["output"]["tasks"]
        assert f"Conduct a thorough research about topic-{i} " in research["raw"]
        assert research["agent"].startswith(f"topic-{i} Senior Data Researcher")
        assert report["agent"].startswith(f"topic-{i} Reporting Analyst")
        assert row["output"]["raw"] == report["raw"]
        assert row["usage"]["requests"] == 2


def test_crew_template_in_process(
    llm_env, fresh_modules, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root = _project("research_crew", tmp_path)
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root / "src"))
    from research_crew.crew import ResearchCrew  # type: ignore[import-not-found]

    project = ResearchCrew()
    crew = project.crew()
    assert crew.name == "ResearchCrew"
    assert [t.name for t in crew.tasks] == ["research_task", "reporting_task"]
    assert [a.role for a in crew.agents] == [
        "{topic} Senior Data Researcher\n",
        "{topic} Reporting Analyst\n",
    ]
    assert crew.tasks[1].output_file == "report.md"
    assert crew.tasks[0].agent is crew.agents[0] is project.researcher()
    result = crew.kickoff(inputs={"topic": "AI LLMs", "current_year": "2026"})
    research, report = result.tasks_output
    assert "Conduct a thorough research about AI LLMs Make sure" in research.raw
    assert "the current year is 2026" in research.raw
    assert research.raw in report.messages[1]["content"]  # the default context
    assert (root / "report.md").read_text() == report.raw
    assert result.raw == report.raw
    # Each instance builds its own agents and tasks; one instance always the same ones.
    assert ResearchCrew().crew().agents[0] is not crew.agents[0]
    assert project.crew() is crew


def test_crew_template_by_fastcrew_run_with_its_env_file(llm_env, tmp_path: Path):
    root = _project("research_crew", tmp_path)
    env = dict(llm_env)
    url = env.pop("OPENAI_BASE_URL")  # from the project's .env instead, as crewai run does
    (root / ".env").write_text(f'# written by hand\nexport OPENAI_BASE_URL="{url}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "fastcrew", "run"], cwd=root, env=env, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()
    report = (root / "report.md").read_text()
    assert report.startswith("Simulated answer")
    assert "Review the context you got" in report


def test_crew_template_in_batch_ordered_then_resumed_after_a_kill(
    llm_env, sim: SpawnedSim, tmp_path: Path
):
    root = _project("research_crew", tmp_path)
    inputs = _rows(tmp_path / "rows.jsonl", N)

    def cmd(out: Path) -> list[str]:
        return batch_cmd(inputs, out, sim.base_url, "--concurrency", "4", spec=CREW_SPEC)

    reference = tmp_path / "reference.jsonl"
    done = subprocess.run(cmd(reference), cwd=root, env=llm_env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    reference_rows = read_rows(reference)
    _assert_crew_rows(reference_rows, N)

    out = tmp_path / "out.jsonl"
    process = subprocess.Popen(
        cmd(out), cwd=root, env=llm_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    wait_for(lambda: journal_rows(out) >= N // 8, what="an eighth of the rows")
    workers = worker_pids(process.pid)
    kill(process)
    process.communicate()
    wait_for(lambda: not any(running(p) for p in workers), what="workers to exit")
    done_before = journal_rows(out)
    assert done_before < N
    requests_before = sim.stats()["requests_total"]
    resumed = subprocess.run(cmd(out), cwd=root, env=llm_env, capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert sim.stats()["requests_total"] - requests_before == 2 * (N - done_before)
    rows = read_rows(out)
    _assert_crew_rows(rows, N)
    assert deterministic(rows) == deterministic(reference_rows)


def test_flow_template_by_fastcrew_run(llm_env, tmp_path: Path):
    root = _project("content_flow", tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "fastcrew", "run"], cwd=root, env=llm_env, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()
    printed = done.stdout.decode()
    assert "Planning content" in printed
    assert "Post saved to output/post.md" in printed
    post = (root / "output" / "post.md").read_text()
    assert post.startswith("Simulated answer")
    assert "Review and edit the blog post about AI Agents" in post


def test_flow_template_in_batch(llm_env, sim: SpawnedSim, tmp_path: Path):
    root = _project("content_flow", tmp_path)
    inputs = tmp_path / "rows.jsonl"
    inputs.write_text("".join(json.dumps({"id": f"f{i}"}) + "\n" for i in range(6)))
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        batch_cmd(inputs, out, sim.base_url, option="--flow", spec=FLOW_SPEC),
        cwd=root,
        env=llm_env,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr.decode()
    rows = read_rows(out)
    assert [(row["index"], row["id"], row["status"]) for row in rows] == [
        (i, f"f{i}", "ok") for i in range(6)
    ]
    for i, row in enumerate(rows):
        state = row["output"]["state"]
        assert state["id"] == f"f{i}"
        assert state["topic"] == "AI Agents"
        assert "Review and edit the blog post about AI Agents" in state["final_post"]
        assert row["usage"]["requests"] == 3  # planner, writer, editor
    assert (root / "output" / "post.md").read_text().startswith("Simulated answer")
