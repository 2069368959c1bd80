"""``--estimate N``: N rows sampled by stride across the input, run for real (in a temporary
directory) on the simulator, projected to the whole input — and checked against a full run.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastcrew import run_batch
from fastcrew.batch.estimate import pick
from fastcrew.sim import SpawnedSim, spawn

from .helpers import CREW, batch_cmd, write_inputs

PRICE = "sim-model=1/2"
ROWS = 300


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=21, latency_ms=2) as server:
        yield server


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def test_rows_are_picked_across_the_whole_input():
    assert pick(100, 4) == [12, 37, 62, 87]
    assert pick(3, 10) == [0, 1, 2]
    assert len(pick(10**6, 50)) == 50


def test_the_estimate_brackets_the_full_runs_cost(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", ROWS)
    out = tmp_path / "out.jsonl"
    done = run(batch_cmd(inputs, out, sim.base_url, "--price", PRICE, "--estimate", "20"))
    assert done.returncode == 0, done.stderr
    assert "an ESTIMATE, not a run" in done.stderr
    indices = ", ".join(str(i) for i in pick(ROWS, 20))
    assert f"rows sampled (input indices): {indices}" in done.stderr
    assert f"for all {ROWS:,} rows (range $" in done.stderr
    assert not list(tmp_path.glob("out.jsonl*"))  # nothing written beside the output

    estimate = run_batch(
        inputs,
        output=out,
        crew=CREW,
        workers=2,
        base_url=sim.base_url,
        prices=[PRICE],
        estimate=20,
        quiet=True,
        rpm=6000,
    )
    assert (estimate.status, estimate.exit_code) == ("estimate", 0)
    e = estimate.summary["estimate"]
    assert (e["total_rows"], e["sample_rows"]) == (ROWS, 20)
    assert e["cost_low_usd"] < e["cost_usd"] < e["cost_high_usd"]
    assert not out.exists()

    full = run_batch(
        inputs,
        output=out,
        crew=CREW,
        workers=2,
        base_url=sim.base_url,
        prices=[PRICE],
        quiet=True,
        rpm=6000,
    )
    assert full.exit_code == 0
    spent = full.summary["cost"]["usd"]
    assert e["cost_low_usd"] <= spent <= e["cost_high_usd"]
    # 300 calls at 6,000 rpm: the rate limit bounds the run at about 3 s
    assert e["bound_by"] == "--rpm 6,000"
    assert e["time_s"] == pytest.approx(e["startup_s"] + ROWS * e["calls_per_row"] / 100)


def test_the_estimate_says_what_it_could_not_price(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 40)
    out = tmp_path / "out.jsonl"
    done = run(batch_cmd(inputs, out, sim.base_url, "--estimate", "5"))
    assert done.returncode == 0, done.stderr
    assert "unpriced: 5 of the sample's calls (sim-model) counted $0" in done.stderr


def test_stdin_cannot_be_estimated(tmp_path: Path, sim: SpawnedSim):
    out = tmp_path / "out.jsonl"
    done = subprocess.run(
        batch_cmd("-", out, sim.base_url, "--estimate", "5"),
        input=json.dumps({"id": "a", "topic": "t"}) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--estimate reads the input twice" in done.stderr
    assert "give a file, not stdin" in done.stderr
