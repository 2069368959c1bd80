"""A long zero-latency input through ``fastcrew batch`` (one-task crew, 2 workers): peak RSS
of the supervisor and of each worker, sampled from /proc while the run goes on.

The full size is 1,000,000 rows; the default here is a bounded slice (``FASTCREW_BENCH_BATCH_
MEMORY_ROWS``, default 200,000) whose RSS samples at 10 %…100 % show whether memory is flat in
the number of rows (then the 1M figure is the same). Target: ≤ 150 MB per process, flat.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from batch_common import ONE_TASK_CREW, run_cli_sampled, write_topics

from fastcrew.sim import spawn

pytestmark = pytest.mark.timeout(1800)  # longer than the suite-wide 120 s

ROWS = int(os.environ.get("FASTCREW_BENCH_BATCH_MEMORY_ROWS", "200000"))


def test_batch_memory(benchmark, report, tmp_path):
    inputs = write_topics(tmp_path / "rows.jsonl", ROWS)
    result: dict[str, Any] = {}

    def once() -> None:
        with spawn(seed=1) as sim:
            run = run_cli_sampled(
                [
                    str(inputs),
                    "--crew",
                    ONE_TASK_CREW,
                    "--workers",
                    "2",
                    "--concurrency",
                    "200",
                    "--base-url",
                    sim.base_url,
                ],
                tmp_path / "out.jsonl",
            )
        assert run["returncode"] == 0
        samples = run["samples"]
        marks = []
        for pct in (10, 25, 50, 75, 100):
            target = ROWS * pct // 100
            near = min(samples, key=lambda s: abs(s["rows"] - target))
            marks.append({"pct": pct, **near})
        result.update(
            rows=ROWS,
            elapsed_s=run["elapsed_s"],
            rows_per_s=round(ROWS / run["elapsed_s"], 1),
            supervisor_peak_mib=max(s["supervisor_hwm_mib"] for s in samples),
            worker_peak_mib=run["worker_peak_mib"],
            trace=marks,
        )

    benchmark.pedantic(once, rounds=1, iterations=1)
    trace = result.pop("trace")
    benchmark.extra_info.update(result)
    report.add(**result)
    report.add(trace=trace)
    report.summary.update(result)
    report.summary["target"] = "<= 150 MB per process, flat in the number of rows"
