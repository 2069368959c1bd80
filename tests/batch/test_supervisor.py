"""The supervisor's owners and named errors, as a real process tree (issue 13 §2).

A storage failure (a real ``EFBIG`` from ``RLIMIT_FSIZE``) stops the run with exit 74 and
names the file; two SIGINTs at a moment the loop is not yet running exit 75, resumable; a
SIGSTOPped supervisor keeps its workers within their bound, loses them past it; a killed
worker's re-paid rows are counted exactly.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastcrew.sim import SpawnedSim, spawn

from .flows import HOLD_ENV
from .helpers import (
    assert_exactly_once_in_order,
    batch_cmd,
    journal_rows,
    read_rows,
    running,
    simulator_pids,
    wait_for,
    worker_pids,
    write_inputs,
)

FLOWS = str(Path(__file__).with_name("flows.py"))
N = 400


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=5, latency_ms=10, jitter_ms=10) as server:
        yield server


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_inputs(tmp_path_factory.mktemp("inputs") / "in.jsonl", N)


def summary(out: Path) -> dict[str, Any]:
    return json.loads(Path(f"{out}.summary.json").read_text())


def start(inputs: Path, out: Path, sim: SpawnedSim, *extra: str, **kw: Any):
    return subprocess.Popen(
        batch_cmd(inputs, out, sim.base_url, "--concurrency", "20", *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


def whole_journal_rows(out: Path) -> int:
    """Journal records with their newline (a torn last one is cut off on resume)."""
    data = Path(f"{out}.journal").read_bytes()
    return sum(1 for line in data.split(b"\n")[:-1] if line.startswith(b'{"i":'))


def resume(inputs: Path, out: Path, sim: SpawnedSim) -> None:
    """Resume: complete, in order, and no row of the journal asked for again."""
    done_before = whole_journal_rows(out)
    requests_before = sim.stats()["requests_total"]
    finished = subprocess.run(batch_cmd(inputs, out, sim.base_url), capture_output=True)
    assert finished.returncode == 0, finished.stderr.decode()
    assert sim.stats()["requests_total"] - requests_before == N - done_before
    assert_exactly_once_in_order(read_rows(out), N)


def test_a_journal_write_failure_stops_the_run_with_exit_74_naming_the_file(
    inputs: Path, sim: SpawnedSim, tmp_path: Path
):
    """The journal outgrows the process's file-size limit a third of the way in: a real
    EFBIG from os.write. Not a worker death, no restarts; resumable."""
    out = tmp_path / "out.jsonl"
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    limit = 80_000  # bytes: ~120 journal records of this crew's rows

    def cap_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))

    process = start(inputs, out, sim, preexec_fn=cap_file_size)
    _, err_bytes = process.communicate(timeout=120)
    err = err_bytes.decode()
    assert process.returncode == 74, err
    assert f"cannot write {out}.journal: File too large (EFBIG, errno 27)" in err
    assert "died" not in err
    assert "replacing" not in err
    assert "Task exception was never retrieved" not in err
    s = summary(out)
    assert (s["status"], s["exit_code"], s["resumable"]) == ("storage_error", 74, True)
    assert s["this_run"]["worker_deaths"] == 0
    assert str(out) + ".journal" in s["stop_message"]
    assert 0 < journal_rows(out) < N
    resume(inputs, out, sim)


def test_an_output_deleted_mid_run_stops_with_exit_74_and_is_rebuilt_on_resume(
    inputs: Path, sim: SpawnedSim, tmp_path: Path
):
    """Writes to a deleted file succeed (and are lost): the run notices within a second,
    before it could call itself complete, and the resume rebuilds the output from the
    journal."""
    out = tmp_path / "out.jsonl"
    process = start(inputs, out, sim)
    wait_for(lambda: journal_rows(out) >= N // 4, what="a quarter of the rows")
    out.unlink()
    _, err_bytes = process.communicate(timeout=120)
    err = err_bytes.decode()
    assert process.returncode == 74, err
    assert f"{out} was deleted or replaced during the run (ENOENT)" in err
    assert summary(out)["status"] == "storage_error"
    resume(inputs, out, sim)


def test_sigint_twice_before_the_run_starts_exits_75_and_resumes(tmp_path: Path):
    """Ctrl-C twice while the built-in simulator starts (the supervisor's loop is not
    running yet): not a KeyboardInterrupt (exit 1), the documented 75; resumable."""
    n = 60
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.jsonl"
    cmd = [*batch_cmd(inputs, out, "unused"), "--simulate"]
    cmd.remove("--base-url")
    cmd.remove("unused")
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    wait_for(lambda: simulator_pids(process.pid), what="the simulator process")
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 75, err.decode()
    assert summary(out)["status"] == "interrupted"
    again = subprocess.run(cmd, capture_output=True)
    assert again.returncode == 0, again.stderr.decode()
    assert_exactly_once_in_order(read_rows(out), n)


def test_a_supervisor_stopped_within_the_bound_keeps_its_workers(
    inputs: Path, sim: SpawnedSim, tmp_path: Path
):
    """SIGSTOP for 4 s, longer than --ping-timeout 3 but within the workers' bound
    (2 x 3 s): nobody is killed or replaced, nothing is paid twice."""
    out = tmp_path / "out.jsonl"
    sim.reset_stats()
    process = start(inputs, out, sim, "--ping-timeout", "3")
    wait_for(lambda: journal_rows(out) >= N // 4, what="a quarter of the rows")
    workers = worker_pids(process.pid)
    os.kill(process.pid, signal.SIGSTOP)
    try:
        time.sleep(4.0)  # the scenario itself: how long the supervisor stays stopped
        assert all(running(pid) for pid in workers)
    finally:
        os.kill(process.pid, signal.SIGCONT)
    _, err_bytes = process.communicate(timeout=120)
    err = err_bytes.decode()
    assert process.returncode == 0, err
    assert "did not answer" not in err
    assert "died" not in err
    assert summary(out)["this_run"]["worker_deaths"] == 0
    assert sim.stats()["requests_total"] == N
    assert_exactly_once_in_order(read_rows(out), N)


def test_workers_exit_when_the_supervisor_stays_stopped_past_the_bound(
    inputs: Path, sim: SpawnedSim, tmp_path: Path
):
    """Past 2 x --ping-timeout of silence the workers give up; the supervisor, continued,
    replaces them and completes."""
    out = tmp_path / "out.jsonl"
    process = start(inputs, out, sim, "--ping-timeout", "2")
    wait_for(lambda: journal_rows(out) >= N // 4, what="a quarter of the rows")
    workers = worker_pids(process.pid)
    os.kill(process.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: not any(running(p) for p in workers), what="the workers to give up")
    finally:
        os.kill(process.pid, signal.SIGCONT)
    _, err_bytes = process.communicate(timeout=120)
    err = err_bytes.decode()
    assert process.returncode == 0, err
    assert "no message from the supervisor for 4 s" in err
    assert summary(out)["this_run"]["worker_deaths"] == 2
    assert_exactly_once_in_order(read_rows(out), N)


def test_a_killed_workers_repaid_rows_are_counted_exactly(sim: SpawnedSim, tmp_path: Path):
    """The holding worker runs 4 rows (--concurrency 4) that made their LLM call and never
    report; 4 more wait in its queue. kill -9: the 4 started rows are re-paid (the simulator
    sees exactly 4 duplicate requests), the 4 queued ones are not."""
    n = 120
    inputs = write_inputs(tmp_path / "in.jsonl", n)
    out = tmp_path / "out.jsonl"
    hold = tmp_path / "hold"
    hold.mkdir()
    cmd = batch_cmd(
        inputs,
        out,
        sim.base_url,
        "--concurrency",
        "4",
        "--chunk-size",
        "4",
        option="--flow",
        spec=f"{FLOWS}:HoldingFlow",
    )
    sim.reset_stats()
    process = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, HOLD_ENV: str(hold)},
    )
    wait_for(lambda: len(list(hold.glob("held-*"))) == 4, what="4 held rows")
    victim = int((hold / "owner").read_text())
    assert victim in worker_pids(process.pid)
    os.kill(victim, signal.SIGKILL)
    _, err_bytes = process.communicate(timeout=120)
    err = err_bytes.decode()
    assert process.returncode == 0, err
    run = summary(out)["this_run"]
    duplicates = sim.stats()["requests_total"] - n
    assert run["rows_repaid"] == duplicates == 4
    assert run["redispatched_rows"] == 8  # 4 started + 4 queued
    assert run["worker_deaths"] == 1
    assert f"(pid {victim}) died" in err
    assert "4 had started: re-paid" in err
    assert "4 of them re-paid" in err
    rows = read_rows(out)
    assert [r["index"] for r in rows] == list(range(n))
    assert all(r["status"] == "ok" for r in rows)


def test_the_summary_counts_repaid_rows_after_a_kill_at_a_random_moment(
    inputs: Path, sim: SpawnedSim, tmp_path: Path
):
    """kill -9 of a worker mid-run: re-paid rows cover every duplicate request and are at
    most the rows it held (running, or finished but not reported; at most --concurrency 20
    + one chunk of 16)."""
    out = tmp_path / "out.jsonl"
    sim.reset_stats()
    process = start(inputs, out, sim)
    wait_for(lambda: journal_rows(out) >= N // 3, what="a third of the rows")
    os.kill(worker_pids(process.pid)[0], signal.SIGKILL)
    _, err_bytes = process.communicate(timeout=120)
    err = err_bytes.decode()
    assert process.returncode == 0, err
    held = re.search(r"; (\d+) rows go out again \((\d+) had started: re-paid\)", err)
    assert held is not None, err
    repaid = summary(out)["this_run"]["rows_repaid"]
    assert repaid == int(held.group(2))
    assert sim.stats()["requests_total"] - N <= repaid <= int(held.group(1)) <= 20 + 16
    assert_exactly_once_in_order(read_rows(out), N)
