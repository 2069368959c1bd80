"""A tool-using crew in ``fastcrew batch``: real workers, exact usage, resume re-pays nothing."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastcrew.sim import SpawnedSim, spawn

from .crews import TOOL_TEXT
from .helpers import CREWS, batch_cmd, journal_rows, kill, read_rows, wait_for, write_inputs

N = 600
SPEC = f"{CREWS}:tool_crew"


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=5, latency_ms=5, tool_rounds=1, parallel_calls=1) as server:
        yield server


def check_rows(out: Path, n: int) -> list[dict]:
    rows = read_rows(out)
    assert [row["index"] for row in rows] == list(range(n))
    for row in rows:
        assert row["status"] == "ok", row
        assert TOOL_TEXT in row["output"]["raw"]  # the tool's result reached the model
    return rows


def test_tool_crew_batch_usage_is_exact(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 200)
    out = tmp_path / "out.jsonl"
    sim.reset_stats()
    done = subprocess.run(batch_cmd(inputs, out, sim.base_url, spec=SPEC), capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    rows = check_rows(out, 200)
    stats = sim.stats()
    assert stats["tool_calls"] == 200
    assert sum(r["usage"]["requests"] for r in rows) == stats["requests_total"] == 400
    assert sum(r["usage"]["prompt_tokens"] for r in rows) == stats["prompt_tokens"]
    assert sum(r["usage"]["completion_tokens"] for r in rows) == stats["completion_tokens"]


def test_tool_crew_batch_killed_then_resumed_repays_no_finished_row(
    tmp_path: Path, sim: SpawnedSim
):
    inputs = write_inputs(tmp_path / "in.jsonl", N)
    out = tmp_path / "out.jsonl"
    cmd = batch_cmd(inputs, out, sim.base_url, "--concurrency", "20", spec=SPEC)
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: journal_rows(out) >= N // 3, what=f"{N // 3} rows")
    kill(process)
    process.communicate()
    done_before = journal_rows(out)
    assert done_before < N
    requests_before = sim.stats()["requests_total"]
    finished = subprocess.run(batch_cmd(inputs, out, sim.base_url, spec=SPEC), capture_output=True)
    assert finished.returncode == 0, finished.stderr.decode()
    # two calls per unfinished row, none for the rows the journal holds
    assert sim.stats()["requests_total"] - requests_before == 2 * (N - done_before)
    check_rows(out, N)
