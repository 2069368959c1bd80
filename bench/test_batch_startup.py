"""Start-up cost of ``fastcrew batch``: wall time to the first output row, and the CPU of the
whole command (supervisor + workers), for 1 and 2 workers.

Each round runs ``python -m fastcrew batch`` as a fresh process against a spawned simulator
(no latency) over ``workers`` rows (one per worker), so the run is almost all start-up:
interpreter, imports, worker spawn, crew load, the first LLM call, shutdown. Wall to the
first row is when the first line of the output file is complete (polled every 2 ms); CPU is
``RUSAGE_CHILDREN`` around the command (the supervisor reaps its workers, so theirs is in
it). ``worker_import_s`` is ``python -X importtime -c 'import fastcrew.batch.worker'``'s
total: what every worker pays before it can load the crew.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_common import ONE_TASK_CREW, children_cpu, write_topics

from fastcrew.sim import spawn

ROUNDS = 5


@pytest.fixture(scope="module")
def sim():
    with spawn() as server:
        yield server


def _first_row_and_cpu(inputs: Path, out: Path, workers: int, base_url: str) -> dict:
    for path in out.parent.glob(out.name + "*"):
        path.unlink()
    cmd = [sys.executable, "-m", "fastcrew", "batch", str(inputs), "--crew", ONE_TASK_CREW]
    cmd += ["--workers", str(workers), "--base-url", base_url, "-o", str(out), "--quiet"]
    env = {**os.environ, "OPENAI_API_KEY": "sk-bench"}
    cpu_before = children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first_row = None
    while proc.poll() is None:
        if first_row is None and out.exists() and b"\n" in out.read_bytes():
            first_row = time.perf_counter() - started
        time.sleep(0.002)
    wall = time.perf_counter() - started
    _, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    if first_row is None:
        first_row = wall
    return {"first_row_s": first_row, "wall_s": wall, "cpu_s": children_cpu() - cpu_before}


def _worker_import_s() -> float:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import fastcrew.batch.worker"],
        capture_output=True,
        text=True,
        check=True,
    )
    last = [line for line in done.stderr.splitlines() if "fastcrew.batch.worker" in line][-1]
    return int(re.split(r"\s*\|\s*", last)[1]) / 1e6


@pytest.mark.parametrize("workers", [1, 2])
def test_first_row_latency_and_cpu(benchmark, sim, tmp_path, report, workers):
    inputs = write_topics(tmp_path / "in.jsonl", workers)
    out = tmp_path / "out.jsonl"
    _first_row_and_cpu(inputs, out, workers, sim.base_url)  # warm the page cache
    runs: list[dict] = []

    def once() -> None:
        runs.append(_first_row_and_cpu(inputs, out, workers, sim.base_url))

    benchmark.pedantic(once, rounds=ROUNDS, iterations=1)
    imports = [_worker_import_s() for _ in range(3)]
    row = {
        "workers": workers,
        "rounds": ROUNDS,
        **{
            f"{key}_median": round(statistics.median(r[key] for r in runs), 3)
            for key in ("first_row_s", "wall_s", "cpu_s")
        },
        "worker_import_s_median": round(statistics.median(imports), 3),
    }
    benchmark.extra_info.update(row)
    report.add(**row)
    report.summary[f"workers_{workers}"] = row
