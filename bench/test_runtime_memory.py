"""100k-row generator through ``akickoff_for_each(max_concurrency=1000)``: peak RSS and live
tasks.

Each measurement runs in a fresh child process (peak RSS is per process) against a
simulator with 250 ms latency, so the bound is saturated: about 1000 runs are in flight the
whole time. ``keep`` returns every CrewOutput (as the API does: the results of a huge
generator are kept, so RSS grows with them); ``drop`` replaces each result by ``0`` via
``after_kickoff_callbacks``, which isolates the runtime's own footprint: it must stay flat.
``iter`` streams the outputs through ``akickoff_for_each_iter`` and drops each as it comes
(bounded: at most the bound in flight and twice the bound not yet yielded).
Live tasks are sampled every 50 ms with ``asyncio.all_tasks()``; gate-then-spawn means never
more than the bound (+ the main task and the sampler).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fastcrew.sim import spawn

ROWS = 100_000
BOUND = 1000
WORKER = Path(__file__).with_name("runtime_memory_worker.py")
results: dict[str, dict] = {}


@pytest.fixture(scope="module")
def sim():
    with spawn(latency_ms=250) as server:
        yield server


@pytest.mark.parametrize("mode", ["drop", "keep", "iter"])
def test_generator_rss_and_live_tasks(benchmark, sim, report, mode):
    out: dict = {}

    def once() -> None:
        proc = subprocess.run(
            [sys.executable, str(WORKER), sim.base_url, str(ROWS), str(BOUND), mode],
            capture_output=True,
            text=True,
            check=True,
            cwd=WORKER.parent,
            timeout=900,
        )
        out.update(json.loads(proc.stdout.strip().splitlines()[-1]))

    benchmark.pedantic(once, rounds=1, iterations=1)
    assert out["max_live_run_tasks"] <= BOUND
    trace = out.pop("trace_every_10pct")
    results[mode] = out
    benchmark.extra_info.update(out)
    report.add(**out)
    report.add(mode=mode, trace=trace)
    summary = {
        m: {
            k: r[k]
            for k in (
                "rss_before_mib",
                "peak_rss_mib",
                "rss_after_mib",
                "max_live_run_tasks",
                "rows_per_s",
            )
        }
        for m, r in results.items()
    }
    if "keep" in results:
        keep = results["keep"]
        summary["keep"]["retained_kib_per_result"] = round(
            (keep["rss_after_mib"] - keep["rss_before_mib"]) * 1024 / ROWS, 2
        )
    report.summary.update(rows=ROWS, bound=BOUND, latency_ms=250, modes=summary)
