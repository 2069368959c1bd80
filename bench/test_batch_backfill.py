"""Rate-limited backfill: OpenAI batch lines through ``fastcrew batch`` with 2 workers under
one global ``--rpm 6000`` budget, against a simulator that enforces RPM 6,000 with a strict
one-second window (its bucket holds 100 requests; a burst over that is answered 429).

There are exactly enough rows for RUN_S seconds at the limit (default 120 s, env
``FASTCREW_BENCH_RUN_S``). Utilization = the simulator's admitted requests per second
÷ 100, averaged over the whole seconds after the first (start-up) and before the tail.
Targets: ≥ 97 % of the limit, ≤ 0.5 % of calls answered 429.
"""

from __future__ import annotations

import os
import statistics
from typing import Any

import pytest
from batch_common import write_openai_lines

from fastcrew import run_batch
from fastcrew.sim import spawn

pytestmark = pytest.mark.timeout(900)  # longer than the suite-wide 120 s

RPM = 6_000
RUN_S = float(os.environ.get("FASTCREW_BENCH_RUN_S", "120"))


def test_batch_backfill(benchmark, report, tmp_path):
    rows = int(RPM / 60 * RUN_S)
    inputs = write_openai_lines(tmp_path / "backfill.jsonl", rows)
    result: dict[str, Any] = {}

    def once() -> None:
        with spawn(rpm=RPM, limit_window_s=1, seed=1) as sim:
            outcome = run_batch(
                inputs,
                output=tmp_path / "out.jsonl",
                workers=2,
                rpm=RPM,
                base_url=sim.base_url,
                quiet=True,
            )
            stats = sim.stats()
        assert outcome.exit_code == 0
        per_second = stats["admitted_per_second"]
        first = next(i for i, n in enumerate(per_second) if n)
        steady = per_second[first + 1 : -1]
        total = stats["requests_total"]
        answered_429 = stats["by_status"].get("429", 0)
        result.update(
            rows=rows,
            seconds=len(steady),
            utilization_mean=round(statistics.fmean(steady) / (RPM / 60), 4),
            utilization_min_second=round(min(steady) / (RPM / 60), 4),
            utilization_max_second=round(max(steady) / (RPM / 60), 4),
            requests=total,
            answered_429=answered_429,
            share_429=round(answered_429 / max(1, total), 5),
            wall_s=outcome.summary["this_run"]["elapsed_s"],
        )

    benchmark.pedantic(once, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    report.add(**result)
    report.summary.update(result)
    report.summary["target"] = "utilization >= 0.97, share_429 <= 0.005"
