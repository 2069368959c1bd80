"""``fastcrew batch --via batch-api`` on the simulator: a 3-step crew over 10,000 rows
(``FASTCREW_BENCH_BATCH_API_ROWS``), every row in flight at once (2 workers x 5,100).

Measured: Batch-API requests (target rows x steps), rounds (target = steps), batches the
simulator created, wall time, and the supervisor's RSS sampled from /proc (flat: it holds
the calls of one round, not the rows' history).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from batch_common import run_cli_sampled, write_topics

from fastcrew import LLM, Agent, Crew, Task
from fastcrew.sim import spawn

pytestmark = pytest.mark.timeout(1800)

ROWS = int(os.environ.get("FASTCREW_BENCH_BATCH_API_ROWS", "10000"))
CONCURRENCY = int(os.environ.get("FASTCREW_BENCH_BATCH_API_CONCURRENCY", str(ROWS // 2 + 100)))
"""Rows per worker; the default holds every row in flight (one wave: rounds = steps)."""
STEPS = 3
CREW = f"{__file__}:three_step_crew"


def three_step_crew() -> Crew:
    """Three sequential tasks, one LLM call each (each prompt holds the previous answer)."""
    llm = LLM()
    agents = [
        Agent(role=f"Step {i}", goal="Answer about {topic}", backstory="A bench agent.", llm=llm)
        for i in range(1, STEPS + 1)
    ]
    tasks = [
        Task(description=f"Step {i}: {{topic}}", expected_output="One line.", agent=agent)
        for i, agent in enumerate(agents, 1)
    ]
    return Crew(agents=agents, tasks=tasks)


def test_batch_api_rounds(benchmark, report, tmp_path: Path) -> None:
    inputs = write_topics(tmp_path / "rows.jsonl", ROWS)
    out = tmp_path / "out.jsonl"
    result: dict[str, Any] = {}

    def once() -> None:
        with spawn(seed=1, batch_delay=1) as sim:
            run = run_cli_sampled(
                [
                    str(inputs), "--crew", CREW, "--workers", "2", "--concurrency",
                    str(CONCURRENCY), "--base-url", sim.base_url, "--via", "batch-api",
                    "--batch-api-poll", "0.2", "--batch-api-idle", "2",
                ],
                out,
            )  # fmt: skip
            stats = sim.stats()
        assert run["returncode"] == 0
        api = json.loads(Path(str(out) + ".summary.json").read_text())["batch_api"]
        samples = run["samples"]
        every = max(len(samples) // 8, 1)
        result.update(
            rows=ROWS,
            concurrency=CONCURRENCY,
            steps=STEPS,
            elapsed_s=run["elapsed_s"],
            requests=api["requests"],
            rounds=api["rounds"],
            jobs=api["jobs"],
            deduped=api["deduped"],
            sim_batches=stats["batch"]["batches_created"],
            sim_requests=stats["batch"]["requests_completed"],
            http_chat_requests=stats["requests_total"],
            supervisor_peak_mib=max(s["supervisor_hwm_mib"] for s in samples),
            supervisor_rss_mib=[s["supervisor_rss_mib"] for s in samples[::every]],
            worker_peak_mib=run["worker_peak_mib"],
        )

    benchmark.pedantic(once, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    report.add(**result)
    report.summary.update(result)
    report.summary["target"] = "requests = rows x steps, rounds = steps, supervisor memory flat"
    assert result["requests"] == ROWS * STEPS == result["sim_requests"]
    if 2 * CONCURRENCY >= ROWS + 32:  # one wave
        assert result["rounds"] == STEPS
