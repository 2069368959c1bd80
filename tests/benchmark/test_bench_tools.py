"""``fastcrew bench --tools``: a small real tools matrix on the simulator (fastcrew side only;
structure and sanity, never timing thresholds)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fastcrew.benchmark import BenchConfig, Cell, run_bench
from fastcrew.benchmark.config import THREADS, matrix
from fastcrew.benchmark.report import print_report, ratios
from fastcrew.cli import main

N = 3 * THREADS  # past the thread-pool ceiling of gather(kickoff_async)
TOOL_MS = 100.0
METHODS = ("kickoff_for_each", "kickoff_async", "akickoff_for_each", "akickoff", "batch")


@pytest.fixture(scope="module")
def tools_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("bench-tools")
    config = BenchConfig(
        methods=METHODS, n=(N,), latency_ms=(20.0,), concurrency=(N,), workers=(1,),
        out=str(out), plots=False, tools=True, tool_ms=TOOL_MS,
    )  # fmt: skip
    return run_bench(config, log=lambda _: None), out


def test_every_tools_cell_made_two_llm_calls_and_one_tool_call_per_crew(tools_run):
    result, _ = tools_run
    assert [c.method for c in result.cells] == list(METHODS)
    for cell in result.cells:
        assert cell.status == "ok", cell.error
        assert cell.tool_ms == TOOL_MS
        assert cell.done == N
        assert cell.requests == 2 * N  # the tool-call answer, then the final answer
        assert cell.tool_calls == N
        assert cell.r429 == 0
        if cell.method == "batch":  # its tools run in the worker processes
            assert (cell.tool_runs, cell.peak_tools) == (None, None)
        else:
            assert cell.tool_runs == N  # counted by the tool itself: no call was cached away


def test_tools_at_once_show_each_method_s_ceiling(tools_run):
    peak = {c.method: c.peak_tools for c in tools_run[0].cells}
    assert peak["kickoff_for_each"] == 1
    assert 1 < peak["kickoff_async"] <= THREADS
    assert peak["akickoff_for_each"] > THREADS  # awaited on the loop: no thread per tool
    assert peak["akickoff"] > THREADS
    in_flight = {c.method: c.peak_in_flight for c in tools_run[0].cells}
    assert in_flight["kickoff_for_each"] == 1
    assert in_flight["akickoff_for_each"] > THREADS


def test_results_json_and_table_carry_the_tool_fields(tools_run, capsys):
    result, out = tools_run
    cells = json.loads((out / "results.json").read_text())
    assert {c["tool_ms"] for c in cells} == {TOOL_MS}
    assert {c["requests"] for c in cells} == {2 * N}
    assert set(cells[0]) >= {"tool_calls", "tool_runs", "peak_tools"}
    print_report(result)
    text = capsys.readouterr().out
    assert "one async tool (100 ms)" in text
    assert "tools at once" in text
    assert "LLM calls" in text


def test_plain_cells_have_no_tool_fields():
    (cell,) = matrix(BenchConfig(methods=("akickoff",), concurrency=(5,), latency_ms=(0.0,)))
    assert cell.tool_ms is None
    (cell,) = matrix(
        BenchConfig(methods=("akickoff",), concurrency=(5,), latency_ms=(0.0,), tools=True)
    )
    assert cell.tool_ms == 200.0  # the default await


def test_ratios_pair_tools_cells_and_carry_tools_at_once():
    def cell(engine: str, rate: float, peak: int) -> Cell:
        return Cell(
            method="akickoff",
            n=10,
            latency_ms=0.0,
            concurrency=10,
            engine=engine,  # type: ignore[arg-type]
            tool_ms=200.0,
            crews_per_s=rate,
            cpu_ms_per_crew=1.0,
            peak_tools=peak,
        )

    (row,) = ratios([cell("fastcrew", 40, 10), cell("crewai", 8, 4)])
    assert row["tool_ms"] == 200.0
    assert row["speedup"] == 5.0
    assert (row["fastcrew_peak_tools"], row["crewai_peak_tools"]) == (10, 4)


def test_tools_excludes_a_custom_crew_and_a_negative_await():
    with pytest.raises(ValueError, match="drop --crew"):
        BenchConfig(tools=True, crew="my_crew.py:crew")
    with pytest.raises(ValueError, match="tool_ms"):
        BenchConfig(tools=True, tool_ms=-1)


def test_cli_tools_flag_runs_the_tool_crew(tmp_path):
    args = ["bench", "--tools", "--tool-ms", "10", "--methods", "akickoff", "--n", "3"]
    args += ["--latency-ms", "0", "--concurrency", "3", "--out", str(tmp_path), "--no-plots"]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    (cell,) = json.loads((tmp_path / "results.json").read_text())
    assert (cell["status"], cell["tool_ms"], cell["requests"], cell["tool_runs"]) == (
        "ok", 10.0, 6, 3,
    )  # fmt: skip
    out = CliRunner().invoke(main, ["bench", "--tools", "--crew", "x.py:crew"])
    assert out.exit_code == 2
    assert "drop --crew" in out.output
