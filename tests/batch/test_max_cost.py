"""``--max-cost``: one spending cap across every worker, row-level admission in the supervisor.

Real ``fastcrew batch`` runs against a spawned simulator, priced exactly with ``--price
sim-model=1/2``; the journal's rows are what the run paid for. The guarantee checked: the
rows written never cost more than the cap plus what was in flight when it was reached; the
run ends with exit 79 and a message, and re-running with a higher cap finishes the output
exactly as an uncapped run writes it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastcrew import run_batch
from fastcrew.batch.config import EXIT_BUDGET
from fastcrew.batch.spending import money
from fastcrew.batch.supervisor.spend import Spend
from fastcrew.sim import SpawnedSim, spawn

from .helpers import CREW, batch_cmd, deterministic, read_rows, write_inputs

PRICE = "sim-model=1/2"
ROWS = 200


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=11, latency_ms=2, jitter_ms=4) as server:
        yield server


@pytest.fixture(scope="module")
def reference(sim: SpawnedSim, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """The uncapped run's rows."""
    tmp = tmp_path_factory.mktemp("reference")
    inputs = write_inputs(tmp / "in.jsonl", ROWS)
    out = tmp / "out.jsonl"
    done = run(batch_cmd(inputs, out, sim.base_url, "--price", PRICE))
    assert done.returncode == 0, done.stderr
    return read_rows(out)


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def journal_costs(out: Path) -> list[float]:
    """The cost of every row the journal holds (what the runs paid for and kept)."""
    lines = Path(f"{out}.journal").read_bytes().splitlines()
    return [json.loads(line)["row"]["usage"]["cost_usd"] for line in lines if b'"i":' in line]


def test_the_cap_stops_new_rows_and_a_higher_cap_continues(
    tmp_path: Path, sim: SpawnedSim, reference: list[dict]
):
    full = sum(row["usage"]["cost_usd"] for row in reference)
    worst = max(row["usage"]["cost_usd"] for row in reference)
    cap = round(full * 0.4, 6)
    inputs = write_inputs(tmp_path / "in.jsonl", ROWS)
    out = tmp_path / "out.jsonl"
    args = ("--price", PRICE, "--concurrency", "10")
    done = run(batch_cmd(inputs, out, sim.base_url, *args, "--max-cost", str(cap)))
    assert done.returncode == EXIT_BUDGET == 79, done.stderr
    summary = json.loads(Path(f"{out}.summary.json").read_text())
    assert summary["status"] == "budget_exhausted"
    assert summary["resumable"] is True
    paid = journal_costs(out)
    # The guarantee: at most the cap plus the rows in flight when it was reached (here the
    # reservation keeps it under the cap: the rows cost about the same); and the budget was
    # used: the next row, at the worst cost seen, would have passed it.
    assert sum(paid) <= cap
    assert sum(paid) > cap - 3 * worst
    assert summary["cost"]["usd"] == pytest.approx(sum(paid), rel=1e-9)
    assert summary["cost"]["max_cost_usd"] == cap
    left = ROWS - len(paid)
    assert left > 0
    assert summary["stop_message"] == (
        f"spent {money(summary['cost']['usd'])} of the {money(cap)} cap (--max-cost); "
        f"{left:,} rows not started; re-run to continue (the cap counts each run's own spend: "
        "--max-cost USD allows USD more)"
    )
    assert summary["stop_message"] in done.stderr
    assert "budget_exhausted (exit code 79)" in done.stderr

    again = run(batch_cmd(inputs, out, sim.base_url, *args, "--max-cost", str(full)))
    assert again.returncode == 0, again.stderr
    assert deterministic(read_rows(out)) == deterministic(reference)
    second = json.loads(Path(f"{out}.summary.json").read_text())["cost"]
    assert second["usd"] == pytest.approx(full - sum(paid), rel=1e-6)  # this run's own spend
    assert second["all_runs_usd"] == pytest.approx(full, rel=1e-6)  # and the total


def test_before_any_estimate_one_wave_of_rows_starts(tmp_path: Path, sim: SpawnedSim):
    """A cap below one row's cost: no row's cost is known when the first rows go out, so at
    most workers x concurrency rows start; none after the first comes back."""
    inputs = write_inputs(tmp_path / "in.jsonl", 50)
    out = tmp_path / "out.jsonl"
    result = run_batch(
        inputs,
        output=out,
        crew=CREW,
        workers=2,
        concurrency=3,
        base_url=sim.base_url,
        prices=[PRICE],
        max_cost=1e-6,
        quiet=True,
    )
    assert (result.status, result.exit_code) == ("budget_exhausted", 79)
    paid = journal_costs(out)
    assert 1 <= len(paid) <= 2 * 3
    assert sum(paid) <= 1e-6 + len(paid) * max(paid)  # the cap + what was in flight
    assert f"{50 - len(paid)} rows not started" in result.summary["stop_message"]


def test_a_cap_must_be_positive(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out.jsonl"
    done = run(batch_cmd(inputs, out, sim.base_url, "--max-cost", "0"))
    assert done.returncode == 2
    assert "--max-cost" in done.stderr
    assert not out.exists()


# -- the admission rule, on its own --------------------------------------------------------


def test_admission_reserves_the_worst_row_for_every_row_out():
    spend = Spend(cap=1.0, first_wave=4)
    assert [spend.admit(n) for n in range(5)] == [True, True, True, True, False]  # blind
    spend.finished(slot=0, cost_usd=0.1, unpriced=0, ok=True)
    spend.finished(slot=0, cost_usd=0.1, unpriced=0, ok=True)
    assert spend.reserve == pytest.approx(0.1)
    # 0.2 spent: 8 more rows of 0.1 fit, a 9th would pass the cap
    assert spend.admit(7)
    assert not spend.admit(8)
    assert spend.refused


def test_a_workers_calls_beyond_its_rows_count_and_survive_its_death():
    spend = Spend(cap=1.0)
    spend.finished(slot=0, cost_usd=0.25, unpriced=0, ok=True)
    spend.process(0, 0.4)  # 0.15 of calls in flight (or error rows' calls)
    assert spend.spent == pytest.approx(0.4)
    spend.worker_gone(0)  # a replacement starts at 0; what the dead one spent stays
    spend.process(0, 0.05)
    assert spend.spent == pytest.approx(0.45)
    spend.process(1, 0.6)
    assert spend.reached
    assert not spend.admit(0)


def test_no_cap_admits_everything():
    spend = Spend()
    assert spend.admit(10**6)
    assert not spend.reached
