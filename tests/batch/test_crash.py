"""Crashes, kills and signals: ``fastcrew batch`` as a real process tree.

Each scenario checks exactly-once and order, identity with an uninterrupted run, and — from
the simulator's request counter — that rows finished before the interruption were not
requested again. Moments are chosen by progress (rows in the journal), not by sleeping.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastcrew.sim import SpawnedSim, spawn

from .crews import CRASH_TOPIC_ENV
from .helpers import (
    CREWS,
    assert_exactly_once_in_order,
    batch_cmd,
    deterministic,
    journal_rows,
    kill,
    read_rows,
    running,
    wait_for,
    worker_pids,
    write_inputs,
)

N = 2000
SEED = 11


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    """Slow enough (10 to 40 ms per call) that a run of N rows takes a couple of seconds."""
    with spawn(seed=SEED, latency_ms=10, jitter_ms=10) as server:
        yield server


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_inputs(tmp_path_factory.mktemp("inputs") / "in.jsonl", N)


@pytest.fixture(scope="module")
def reference(inputs: Path, sim: SpawnedSim, tmp_path_factory: pytest.TempPathFactory):
    """The rows of an uninterrupted run (deterministic fields only)."""
    out = tmp_path_factory.mktemp("reference") / "out.jsonl"
    done = subprocess.run(batch_cmd(inputs, out, sim.base_url), capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    rows = read_rows(out)
    assert_exactly_once_in_order(rows, N)
    return deterministic(rows)


def start(inputs: Path | str, out: Path, sim: SpawnedSim, *extra: str, **kw: Any):
    return subprocess.Popen(
        batch_cmd(inputs, out, sim.base_url, "--concurrency", "20", *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


def wait_gone(pids: list[int]) -> None:
    wait_for(lambda: not any(running(p) for p in pids), what="workers to exit")


def resume_and_check(
    inputs: Path, out: Path, sim: SpawnedSim, reference: list[dict[str, Any]], *extra: str
) -> None:
    """Resume; the rows of the journal must not be requested again."""
    done_before = journal_rows(out)
    requests_before = sim.stats()["requests_total"]
    finished = subprocess.run(batch_cmd(inputs, out, sim.base_url, *extra), capture_output=True)
    assert finished.returncode == 0, finished.stderr.decode()
    assert sim.stats()["requests_total"] - requests_before == N - done_before
    rows = read_rows(out)
    assert_exactly_once_in_order(rows, N)
    assert deterministic(rows) == reference


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_of_the_supervisor_at_a_random_moment_then_resume(
    seed: int, inputs: Path, sim: SpawnedSim, reference, tmp_path: Path
):
    out = tmp_path / "out.jsonl"
    at = random.Random(seed).randrange(N // 10, N * 8 // 10)
    process = start(inputs, out, sim)
    wait_for(lambda: journal_rows(out) >= at, what=f"{at} rows")
    workers = worker_pids(process.pid)
    kill(process)
    process.communicate()
    wait_gone(workers)  # workers notice the supervisor is gone and exit by themselves
    assert journal_rows(out) < N
    resume_and_check(inputs, out, sim, reference)


def test_kill_9_of_a_worker_mid_run(inputs: Path, sim: SpawnedSim, reference, tmp_path: Path):
    out = tmp_path / "out.jsonl"
    sim.reset_stats()
    process = start(inputs, out, sim)
    wait_for(lambda: journal_rows(out) >= N // 3, what="a third of the rows")
    victim = worker_pids(process.pid)[0]
    os.kill(victim, signal.SIGKILL)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    assert f"pid {victim}) died" in err.decode()
    rows = read_rows(out)
    assert_exactly_once_in_order(rows, N)
    assert deterministic(rows) == reference
    # Only the dead worker's rows in flight (at most concurrency + one chunk) went out twice.
    assert N <= sim.stats()["requests_total"] <= N + 20 + 16


def test_a_hung_worker_is_killed_by_the_ping_timeout_and_replaced(
    inputs: Path, sim: SpawnedSim, reference, tmp_path: Path
):
    out = tmp_path / "out.jsonl"
    process = start(inputs, out, sim, "--ping-timeout", "2")
    wait_for(lambda: journal_rows(out) >= N // 4, what="a quarter of the rows")
    victim = worker_pids(process.pid)[0]
    os.kill(victim, signal.SIGSTOP)  # alive, but answers nothing
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    assert f"(pid {victim}) did not answer for" in err.decode()
    assert deterministic(read_rows(out)) == reference


def test_sigint_finishes_the_rows_in_flight_then_resume(
    inputs: Path, sim: SpawnedSim, reference, tmp_path: Path
):
    out = tmp_path / "out.jsonl"
    sim.reset_stats()
    process = start(inputs, out, sim)
    wait_for(lambda: journal_rows(out) >= N // 4, what="a quarter of the rows")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 75, err.decode()
    assert "resumable" in err.decode()
    # Every row that was sent to the simulator finished and is in the journal.
    assert sim.stats()["requests_total"] == journal_rows(out) < N
    resume_and_check(inputs, out, sim, reference)


def test_a_second_sigint_stops_at_once_still_resumable(
    inputs: Path, sim: SpawnedSim, reference, tmp_path: Path
):
    out = tmp_path / "out.jsonl"
    process = start(inputs, out, sim)
    wait_for(lambda: journal_rows(out) >= N // 4, what="a quarter of the rows")
    workers = worker_pids(process.pid)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 75, err.decode()
    wait_gone(workers)
    resume_and_check(inputs, out, sim, reference)


def test_sigint_while_the_workers_load_the_crew_stops_at_once(
    inputs: Path, sim: SpawnedSim, tmp_path: Path
):
    # The signal was queued but only acted on once a worker said hello (here: a minute).
    out = tmp_path / "out.jsonl"
    cmd = batch_cmd(inputs, out, sim.base_url)
    cmd[cmd.index("--crew") + 1] = f"{CREWS}:slow_crew"
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: len(worker_pids(process.pid)) == 2, what="the workers to start")
    workers = worker_pids(process.pid)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 75, err.decode()
    wait_gone(workers)
    assert journal_rows(out) == 0


def test_quota_exhaustion_stops_cleanly_and_resumes_after_the_reset(
    inputs: Path, tmp_path: Path, reference
):
    out = tmp_path / "out.jsonl"
    with spawn(seed=SEED, latency_ms=2, quota_after=1200) as limited:
        first = subprocess.run(batch_cmd(inputs, out, limited.base_url), capture_output=True)
        assert first.returncode == 69, first.stderr.decode()
        assert "quota" in first.stderr.decode()
        assert journal_rows(out) == 1200  # every admitted call became a row; no error rows
        assert all(r["status"] == "ok" for r in read_rows(out))
        limited.reset_stats()  # the quota resets
        resume_and_check(inputs, out, limited, reference)


def test_workers_that_keep_dying_end_the_run_clearly(tmp_path: Path, sim: SpawnedSim):
    inputs = write_inputs(tmp_path / "in.jsonl", 200)
    out = tmp_path / "out.jsonl"
    env = {**os.environ, CRASH_TOPIC_ENV: "topic-50"}
    cmd = batch_cmd(inputs, out, sim.base_url, "--max-restarts", "1")
    cmd[cmd.index("--crew") + 1] = f"{CREWS}:crashing_crew"
    done = subprocess.run(cmd, capture_output=True, env=env)
    err = done.stderr.decode()
    assert done.returncode == 4, err
    assert "giving up after --max-restarts 1" in err
    rows = read_rows(out)
    assert len(rows) <= 50  # the ordered prefix stops before the poisonous row
    assert all(r["status"] == "ok" for r in rows)


def test_stdin_input_resumes_and_refuses_a_different_stream(
    inputs: Path, sim: SpawnedSim, reference, tmp_path: Path
):
    out = tmp_path / "out.jsonl"
    with inputs.open("rb") as stdin:
        process = start("-", out, sim, stdin=stdin)
        wait_for(lambda: journal_rows(out) >= N // 3, what="a third of the rows")
        workers = worker_pids(process.pid)
        kill(process)
        process.communicate()
    wait_gone(workers)
    other = write_inputs(tmp_path / "other.jsonl", N, start=1)
    with other.open("rb") as stdin:
        refused = subprocess.run(
            batch_cmd("-", out, sim.base_url), stdin=stdin, capture_output=True
        )
    assert refused.returncode == 2
    assert "input changed" in refused.stderr.decode()
    with inputs.open("rb") as stdin:
        done_before = journal_rows(out)
        requests_before = sim.stats()["requests_total"]
        finished = subprocess.run(
            batch_cmd("-", out, sim.base_url), stdin=stdin, capture_output=True
        )
    assert finished.returncode == 0, finished.stderr.decode()
    assert sim.stats()["requests_total"] - requests_before == N - done_before
    assert deterministic(read_rows(out)) == reference
