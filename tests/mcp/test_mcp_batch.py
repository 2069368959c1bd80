"""``fastcrew batch`` with an MCP stdio server: real worker processes, one session each, and
no server left running when the supervisor is killed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from batch.helpers import batch_cmd, read_rows, worker_pids, write_inputs
from mcp_helpers import alive, server_pids, wait_for

from fastcrew.sim import SpawnedSim, spawn

SPEC = f"{Path(__file__).with_name('mcp_crews.py')}:make_crew"


@pytest.fixture(scope="module")
def sim() -> Iterator[SpawnedSim]:
    with spawn(seed=3, latency_ms=10, tool_rounds=1, parallel_calls=1) as server:
        yield server


def start(tmp_path: Path, sim: SpawnedSim, rows: int) -> tuple[subprocess.Popen[bytes], Path]:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    inputs = write_inputs(tmp_path / "in.jsonl", rows)
    cmd = batch_cmd(inputs, tmp_path / "out.jsonl", sim.base_url, "--concurrency", "4", spec=SPEC)
    env = {**os.environ, "MCP_TEST_PID_DIR": str(pid_dir)}
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return process, pid_dir


def test_every_row_uses_its_workers_one_session(tmp_path: Path, sim: SpawnedSim) -> None:
    process, pid_dir = start(tmp_path, sim, 120)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    rows = read_rows(tmp_path / "out.jsonl")
    assert len(rows) == 120
    assert all(row["status"] == "ok" for row in rows)
    reports = [
        json.loads(re.search(r'(\{"pid".*?\})', row["output"]["raw"]).group(1))  # type: ignore[union-attr]
        for row in rows
    ]
    servers = server_pids(pid_dir)  # {server pid: the worker that started it}
    assert len(servers) == 2
    assert len(set(servers.values())) == 2
    assert {report["pid"] for report in reports} == set(servers)
    assert all(report["sessions"] == 1 for report in reports)
    wait_for(lambda: not any(alive(pid) for pid in servers), what="the servers to exit")


def test_no_server_survives_a_killed_supervisor(tmp_path: Path, sim: SpawnedSim) -> None:
    """kill -9 of the supervisor and of one worker: the other worker exits (its channel
    closed) and closes its server; the killed worker's server dies by PDEATHSIG."""
    process, pid_dir = start(tmp_path, sim, 3000)
    try:
        wait_for(lambda: len(server_pids(pid_dir)) == 2, timeout=30, what="two servers")
        workers = worker_pids(process.pid)
        servers = list(server_pids(pid_dir))
        assert all(alive(pid) for pid in servers)
        assert process.poll() is None
        os.kill(process.pid, signal.SIGKILL)
        os.kill(workers[0], signal.SIGKILL)
        process.wait(10)
        gone = [*servers, *workers]
        wait_for(lambda: not any(alive(pid) for pid in gone), timeout=20, what="no survivor")
    finally:
        process.kill()
        process.communicate()
