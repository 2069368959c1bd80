"""20,000 rows of the research crew (2 LLM calls each) against a simulator with 200 ms latency:
``fastcrew batch`` with 1 and 2 workers vs one process running ``akickoff_for_each``.

The simulator runs in its own process. Reported: rows/s (wall, including worker start-up),
and client CPU per row (supervisor + workers, or the one process). On the 2-core reference
machine the simulator shares the cores with the client, so 2 workers cannot double 1.
Rows via ``FASTCREW_BENCH_BATCH_ROWS`` (default 20,000).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from batch_common import RESEARCH_CREW, children_cpu, write_topics

from fastcrew import LLM, run_batch
from fastcrew._loop import run
from fastcrew.sim import spawn

pytestmark = pytest.mark.timeout(900)  # longer than the suite-wide 120 s

ROWS = int(os.environ.get("FASTCREW_BENCH_BATCH_ROWS", "20000"))
LATENCY_MS = 200
CONCURRENCY = 1000  # rows in flight per worker (2 calls each, one after the other)


@pytest.fixture(scope="module")
def sim():
    with spawn(latency_ms=LATENCY_MS, seed=1) as server:
        yield server


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_topics(tmp_path_factory.mktemp("batch") / "topics.jsonl", ROWS)


def _batch(inputs: Path, out: Path, base_url: str, workers: int) -> dict[str, Any]:
    cpu0, kids0, wall0 = time.process_time(), children_cpu(), time.perf_counter()
    result = run_batch(
        inputs,
        crew=RESEARCH_CREW,
        output=out,
        restart=True,
        workers=workers,
        concurrency=CONCURRENCY,
        base_url=base_url,
        quiet=True,
    )
    wall = time.perf_counter() - wall0
    supervisor_cpu = time.process_time() - cpu0
    workers_cpu = children_cpu() - kids0
    assert result.exit_code == 0
    return {
        "wall_s": round(wall, 2),
        "rows_per_s": round(ROWS / wall, 1),
        "cpu_ms_per_row": round((supervisor_cpu + workers_cpu) / ROWS * 1000, 3),
        "supervisor_cpu_ms_per_row": round(supervisor_cpu / ROWS * 1000, 3),
        "workers_cpu_ms_per_row": round(workers_cpu / ROWS * 1000, 3),
        "llm_calls": result.summary["this_run"]["llm_calls"],
        "reorder_peak": result.summary["reorder_peak"],
    }


def _for_each(inputs: Path, base_url: str) -> dict[str, Any]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("research_crew", RESEARCH_CREW.split(":")[0])
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    crew = module.make_crew(LLM("sim", base_url=base_url))
    rows = [json.loads(line) for line in inputs.open()]

    async def main() -> None:
        out = await crew.akickoff_for_each(rows, max_concurrency=2 * CONCURRENCY)
        assert len(out) == ROWS

    cpu0, wall0 = time.process_time(), time.perf_counter()
    run(main())
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    return {
        "wall_s": round(wall, 2),
        "rows_per_s": round(ROWS / wall, 1),
        "cpu_ms_per_row": round(cpu / ROWS * 1000, 3),
    }


@pytest.mark.parametrize("method", ["batch_workers_1", "batch_workers_2", "akickoff_for_each"])
def test_batch_throughput(benchmark, report, sim, inputs, tmp_path, method):
    result: dict[str, Any] = {}

    def once() -> None:
        if method == "akickoff_for_each":
            result.update(_for_each(inputs, sim.base_url))
        else:
            workers = int(method.rsplit("_", 1)[1])
            result.update(_batch(inputs, tmp_path / "out.jsonl", sim.base_url, workers))

    benchmark.pedantic(once, rounds=1, iterations=1)
    benchmark.extra_info.update(result)
    report.add(method=method, rows=ROWS, latency_ms=LATENCY_MS, **result)
    report.summary[method] = result
