"""``fastcrew batch --cache PATH``: every worker answers from one SQLite file; a re-run pays
only for the calls whose request changed; the summary and the rows count the hits."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastcrew import run_batch
from fastcrew.sim import SpawnedSim, spawn

from .cache_crews import TASK3_ENV
from .helpers import batch_cmd, read_rows, write_inputs

THREE_TASKS = f"{Path(__file__).with_name('cache_crews.py')}:three_tasks"
ROWS = 20


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=5, latency_ms=1) as server:
        yield server


def run(inputs: Path, output: Path, sim: SpawnedSim, cache: Path) -> dict[str, object]:
    sim.reset_stats()
    result = run_batch(
        inputs,
        output=output,
        crew=THREE_TASKS,
        workers=2,
        base_url=sim.base_url,
        cache=str(cache),
        prices=("sim-model=1/2",),
        restart=True,
        quiet=True,
    )
    assert result.exit_code == 0, result.summary
    return result.summary


def test_a_rerun_after_changing_one_task_repays_only_its_calls(
    tmp_path: Path, sim: SpawnedSim, monkeypatch: pytest.MonkeyPatch
):
    inputs = write_inputs(tmp_path / "in.jsonl", ROWS)
    output, cache = tmp_path / "out.jsonl", tmp_path / "answers.sqlite"

    first = run(inputs, output, sim, cache)
    assert sim.stats()["requests_total"] == 3 * ROWS
    assert first["cache"] == {"path": str(cache), "hits": 0, "misses": 3 * ROWS, "saved_usd": 0}
    answers = [row["output"]["raw"] for row in read_rows(output)]

    again = run(inputs, output, sim, cache)  # the same crew: nothing is sent
    assert sim.stats()["requests_total"] == 0
    assert again["cache"]["hits"] == 3 * ROWS
    assert again["cache"]["misses"] == 0
    assert again["cache"]["saved_usd"] > 0
    assert again["this_run"]["llm_calls"] == 0
    rows = read_rows(output)
    assert [row["output"]["raw"] for row in rows] == answers
    assert all(row["usage"]["cache_hits"] == 3 and row["usage"]["requests"] == 3 for row in rows)
    assert all(row["usage"]["cost_usd"] == 0 for row in rows)

    monkeypatch.setenv(TASK3_ENV, "in one sentence")  # the workers inherit it
    changed = run(inputs, output, sim, cache)
    assert sim.stats()["requests_total"] == ROWS  # task 3's, one per row
    assert changed["cache"]["hits"] == 2 * ROWS
    assert changed["cache"]["misses"] == ROWS
    assert changed["this_run"]["llm_calls"] == ROWS
    assert all(row["usage"]["cache_hits"] == 2 for row in read_rows(output))


def test_two_workers_share_the_file_through_the_cli(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 40)
    cache = tmp_path / "shared.sqlite"
    outputs = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    sim.reset_stats()
    for output in outputs:
        proc = subprocess.run(
            [*batch_cmd(inputs, output, sim.base_url, "--cache", str(cache))],
            capture_output=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr.decode()
        assert b"database is locked" not in proc.stderr
    assert sim.stats()["requests_total"] == 40  # the second run: every call a hit
    summary = json.loads(Path(f"{outputs[1]}.summary.json").read_text())
    assert summary["cache"]["hits"] == 40
    assert summary["cache"]["misses"] == 0
    assert b"cache: 40 hits" in proc.stderr
    assert [r["output"]["raw"] for r in read_rows(outputs[0])] == [
        r["output"]["raw"] for r in read_rows(outputs[1])
    ]


def test_a_damaged_cache_file_exits_2_before_anything_runs(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 3)
    cache = tmp_path / "broken.sqlite"
    cache.write_bytes(b"this is not an SQLite database, " * 200)
    output = tmp_path / "out.jsonl"
    proc = subprocess.run(
        batch_cmd(inputs, output, sim.base_url, "--cache", str(cache)),
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert str(cache) in err, err
    assert "delete it" in err, err
    assert "Traceback" not in err
    assert not output.exists()
