"""``fastcrew bench``: a small real matrix on the simulator (structure and sanity, never
timing thresholds), the CLI, the time bound, Ctrl-C, and the plots."""

from __future__ import annotations

import importlib.util
import json

import pytest
from click.testing import CliRunner

from fastcrew.benchmark import METHODS, BenchConfig, Cell, run_bench
from fastcrew.benchmark import runner as bench_runner
from fastcrew.benchmark.config import THREADS, matrix
from fastcrew.benchmark.plots import INSTALL_HINT, PlotsUnavailable, make_plots
from fastcrew.benchmark.report import print_report, ratios
from fastcrew.cli import main

N = 3 * THREADS  # enough crews for the bounded methods to pass the thread-pool ceiling
FIELDS = {
    "method",
    "n",
    "latency_ms",
    "concurrency",
    "workers",
    "wall_s",
    "crews_per_s",
    "cpu_ms_per_crew",
    "peak_rss_mb",
    "peak_in_flight",
    "r429",
}
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("bench")
    config = BenchConfig(
        n=(N,), latency_ms=(50.0,), concurrency=(N,), workers=(1,), out=str(out), plots=False
    )
    return run_bench(config, log=lambda _: None), out


def test_every_cell_of_the_matrix_finished(small_run):
    result, _ = small_run
    assert not result.interrupted
    assert [(c.method, c.concurrency, c.workers) for c in result.cells] == [
        ("kickoff_for_each", 1, None),
        ("kickoff_async", THREADS, None),
        ("akickoff_for_each", N, None),
        ("akickoff", N, None),
        ("batch", N, 1),
    ]
    for cell in result.cells:
        assert cell.status == "ok", cell.error
        assert cell.done == N
        assert cell.wall_s > 0
        assert cell.crews_per_s > 0
        assert cell.cpu_ms_per_crew > 0
        assert cell.peak_rss_mb > 10
        assert cell.r429 == 0


def test_in_flight_shows_each_method_s_ceiling(small_run):
    peak = {c.method: c.peak_in_flight for c in small_run[0].cells}
    assert peak["kickoff_for_each"] == 1
    assert 1 < peak["kickoff_async"] <= THREADS  # the default executor's threads
    assert peak["akickoff_for_each"] > THREADS  # native: past the thread-pool ceiling
    assert peak["akickoff"] > THREADS
    assert peak["batch"] > THREADS


def test_results_json_is_a_list_of_cells(small_run):
    result, out = small_run
    assert result.results_path == out / "results.json"
    cells = json.loads(result.results_path.read_text())
    assert len(cells) == len(METHODS)
    for cell in cells:
        assert set(cell) >= FIELDS
        assert cell["engine"] == "fastcrew"
        assert cell["n"] == N
        assert cell["latency_ms"] == 50.0


def test_every_cell_is_priced_per_row_from_the_simulator_s_tokens(small_run):
    # The same crew, the same N and one LLM call per crew: every method costs the same per row
    result, _ = small_run
    costs = {c.method: c.cost_per_row_usd for c in result.cells}
    assert all(cost is not None and cost > 0 for cost in costs.values()), costs
    first = costs["kickoff_for_each"]
    assert first is not None
    for cost in costs.values():
        assert cost == pytest.approx(first, rel=0.2)
    # a crew's cost at gpt-4.1-mini's $0.40/$1.60 per million: prompt ~100s, answer ~10s
    assert 1e-5 < first < 1e-3
    rows = json.loads(result.results_path.read_text())
    assert [r["cost_per_row_usd"] for r in rows] == list(costs.values())


def test_table_lists_every_cell(small_run, capsys):
    print_report(small_run[0])
    text = capsys.readouterr().out
    for label in ("kickoff_for_each", "gather(kickoff_async)", "akickoff_for_each", "batch"):
        assert label in text
    assert "results.json" in text
    assert "cost/row" in text


def test_plots_are_pngs_or_say_how_to_get_them(small_run, tmp_path):
    cells = small_run[0].cells
    if HAVE_MATPLOTLIB:
        paths = make_plots(cells, tmp_path)
        assert [p.name for p in paths] == ["throughput.png", "cpu_per_crew.png"]
        for path in paths:
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert 1_000 < path.stat().st_size < 300_000
    else:
        with pytest.raises(PlotsUnavailable, match=r"pip install 'fastcrew\[plot\]'"):
            make_plots(cells, tmp_path)


def test_without_matplotlib_the_run_says_so_and_keeps_the_table(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    config = BenchConfig(
        methods=("akickoff_for_each",), n=(4,), latency_ms=(0.0,), concurrency=(4,),
        out=str(tmp_path),
    )  # fmt: skip
    result = run_bench(config, log=lambda _: None)
    assert [c.status for c in result.cells] == ["ok"]
    assert INSTALL_HINT in result.notes
    assert result.plots == []
    assert (tmp_path / "results.json").exists()


def test_a_cell_over_its_time_bound_is_killed_and_reported(tmp_path):
    config = BenchConfig(
        methods=("kickoff_for_each",), n=(3,), latency_ms=(3000.0,), out=None,
        cell_timeout_s=1.0,
    )  # fmt: skip
    result = run_bench(config, log=lambda _: None)
    (cell,) = result.cells
    assert cell.status == "timeout"
    assert cell.wall_s is None


def test_ctrl_c_keeps_the_finished_cells(monkeypatch, tmp_path):
    real = bench_runner._run_cell
    calls: list[Cell] = []

    def interrupt_second(cell, *args):
        calls.append(cell)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(cell, *args)

    monkeypatch.setattr(bench_runner, "_run_cell", interrupt_second)
    config = BenchConfig(
        methods=("akickoff_for_each",), n=(4,), latency_ms=(0.0,), concurrency=(2, 4, 8),
        out=str(tmp_path), plots=False,
    )  # fmt: skip
    result = run_bench(config, log=lambda _: None)
    assert result.interrupted
    assert [(c.concurrency, c.status) for c in result.cells] == [(2, "ok")]
    assert len(json.loads((tmp_path / "results.json").read_text())) == 1


def test_batch_unavailable_is_said_plainly(monkeypatch):
    monkeypatch.setattr(bench_runner, "_batch_missing", lambda: "batch not available (test)")
    config = BenchConfig(methods=("batch",), n=(2,), latency_ms=(0.0,), concurrency=(2,),
                         workers=(1,), out=None)  # fmt: skip
    result = run_bench(config, log=lambda _: None)
    assert "batch not available (test)" in result.notes
    assert {(c.status, c.error) for c in result.cells} == {("error", "batch not available")}


def test_cli_runs_a_cell_and_explains_a_missing_crewai(tmp_path):
    args = ["bench", "--methods", "akickoff_for_each", "--n", "5", "--latency-ms", "0",
            "--concurrency", "5", "--out", str(tmp_path), "--no-plots", "--against-crewai",
            "--crewai-python", str(tmp_path / "no-python")]  # fmt: skip
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert "akickoff_for_each" in out.output
    assert "CrewAI is not installed" in out.output
    assert json.loads((tmp_path / "results.json").read_text())[0]["status"] == "ok"


def test_cli_rejects_bad_lists():
    out = CliRunner().invoke(main, ["bench", "--n", "ten"])
    assert out.exit_code == 2
    assert "--n" in out.output
    out = CliRunner().invoke(main, ["bench", "--methods", "kickoff_turbo"])
    assert out.exit_code == 2
    assert "unknown method" in out.output


def test_list_options_take_repeats_and_commas(monkeypatch):
    seen: list[BenchConfig] = []
    monkeypatch.setattr("fastcrew.benchmark.command.bench", lambda config: seen.append(config))
    args = ["bench", "--latency-ms", "0,200", "--latency-ms", " 500 ", "--n", "7"]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    (config,) = seen
    assert (config.latency_ms, config.n) == ((0.0, 200.0, 500.0), (7,))
    defaults = BenchConfig()
    assert (config.concurrency, config.workers) == (defaults.concurrency, defaults.workers)


def test_matrix_shape():
    config = BenchConfig(n=(10, 20), latency_ms=(0.0, 100.0), concurrency=(5, 50), workers=(1, 2))
    cells = matrix(config)
    per_group = 1 + 1 + 2 + 2 + 4  # for_each, kickoff_async, 2 C, 2 C, 2 W x 2 C
    assert len(cells) == 2 * 2 * per_group
    crewai = matrix(config, "crewai")
    assert all(c.method != "batch" for c in crewai)
    assert {c.concurrency for c in crewai if c.method == "akickoff_for_each"} == {None}
    assert matrix(BenchConfig(base_url="http://127.0.0.1:1/v1"))[0].latency_ms is None


def test_ratios_pair_the_best_cell_of_each_engine():
    def cell(engine: str, c: int | None, rate: float, cpu: float) -> Cell:
        return Cell(method="akickoff_for_each", n=10, latency_ms=0.0, concurrency=c,
                    engine=engine, crews_per_s=rate, cpu_ms_per_crew=cpu)  # type: ignore[arg-type]  # fmt: skip

    (row,) = ratios([cell("fastcrew", 5, 100, 0.5), cell("fastcrew", 50, 400, 0.4),
                     cell("crewai", None, 20, 30.0)])  # fmt: skip
    assert row["speedup"] == 20.0
    assert row["cpu_ratio"] == 75.0


def test_bad_config_is_a_value_error():
    with pytest.raises(ValueError, match="unknown method"):
        BenchConfig(methods=("nope",))
    with pytest.raises(ValueError, match="concurrency"):
        BenchConfig(concurrency=(0,))
