"""``fastcrew batch --flow`` with a ``@persist`` flow: a run killed while rows are half-way
(worker and supervisor SIGKILLed) resumes those rows from their last saved method — the
simulator's request counter shows steps 1-2 were not asked again — and the output equals an
uninterrupted run's (but for the resumed rows' ``usage``, which counts this run's calls)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastcrew.sim import SpawnedSim, spawn

from .helpers import batch_cmd, journal_rows, read_rows, wait_for, worker_pids, write_inputs
from .persisted_flows import BLOCK_ENV

FLOW = f"{Path(__file__).with_name('persisted_flows.py')}:FourStepFlow"
N = 6


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=7, latency_ms=2) as server:
        yield server


def cmd(inputs: Path, out: Path, sim: SpawnedSim) -> list[str]:
    return batch_cmd(inputs, out, sim.base_url, option="--flow", spec=FLOW)


def test_a_killed_flow_batch_resumes_half_done_rows_from_their_saved_step(
    tmp_path: Path, sim: SpawnedSim
):
    inputs = write_inputs(tmp_path / "in.jsonl", N)
    env = {**os.environ, "FASTCREW_STORAGE_DIR": str(tmp_path / "default-store")}
    reference = tmp_path / "reference.jsonl"
    done = subprocess.run(cmd(inputs, reference, sim), env=env, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    expected = read_rows(reference)
    assert [r["usage"]["requests"] for r in expected] == [4] * N

    out, blocked = tmp_path / "out.jsonl", tmp_path / "blocked"
    first = subprocess.Popen(
        cmd(inputs, out, sim), env={**env, BLOCK_ENV: str(blocked)}, stderr=subprocess.PIPE
    )

    def half_way() -> bool:  # odd rows finished, even rows waiting in step 3
        lines = blocked.read_text().split() if blocked.exists() else []
        return journal_rows(out) == N // 2 and len(set(lines)) == N // 2

    wait_for(half_way, timeout=60, what="the odd rows done and the even rows at step 3")
    for pid in worker_pids(first.pid):
        os.kill(pid, signal.SIGKILL)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate()
    store = Path(str(out) + ".flows.sqlite")
    with sqlite3.connect(store) as conn:
        saved = conn.execute(
            "SELECT method_name, finished FROM fastcrew_flow_states"
            " WHERE json_extract(state_json, '$.topic') IN ('topic-0', 'topic-2', 'topic-4')"
        ).fetchall()
    assert saved == [("step2", 0)] * 3

    sim.reset_stats()
    resumed = subprocess.run(cmd(inputs, out, sim), env=env, capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert sim.stats()["requests_total"] == 3 * 2  # three rows, steps 3 and 4 only
    rows = read_rows(out)
    assert [r["index"] for r in rows] == list(range(N))
    for row, ref in zip(rows, expected, strict=True):
        assert row["status"] == "ok", row
        assert row["output"] == ref["output"]  # state and result as if never interrupted
        assert row["usage"]["requests"] == (2 if row["index"] % 2 == 0 else 4)
    assert not (tmp_path / "default-store").exists()  # the batch used its own store

    sim.reset_stats()  # --restart deletes the row store too: every step is asked again
    restarted = subprocess.run([*cmd(inputs, out, sim), "--restart"], capture_output=True)
    assert restarted.returncode == 0, restarted.stderr.decode()
    assert sim.stats()["requests_total"] == 4 * N
    assert [r["output"] for r in read_rows(out)] == [r["output"] for r in expected]
