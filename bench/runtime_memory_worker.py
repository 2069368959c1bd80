"""Child process of bench/test_runtime_memory.py: one 100k-row run, measured in isolation.

``python bench/runtime_memory_worker.py BASE_URL ROWS BOUND keep|drop|iter`` runs a generator
of ROWS inputs through ``akickoff_for_each(max_concurrency=BOUND)`` and prints one JSON line:
RSS before/peak/after, the most live asyncio tasks seen, rows/s and an RSS trace.
``drop`` makes every run return a tiny result (``after_kickoff_callbacks``), which shows the
machinery's own footprint; ``keep`` keeps every CrewOutput, as the API returns them; ``iter``
streams them through ``akickoff_for_each_iter`` and drops each one as it arrives (what a
consumer that writes each output somewhere does).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import sys
import time

from runtime_common import one_task_crew

from fastcrew._loop import run

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE / 2**20


def main() -> None:
    base_url, rows, bound, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    options = {"after_kickoff_callbacks": [lambda out: 0]} if mode == "drop" else {}
    crew = one_task_crew(base_url, **options)
    pulled = 0

    def inputs():
        nonlocal pulled
        for i in range(rows):
            pulled += 1
            yield {"topic": f"row {i}"}

    async def go() -> dict:
        await crew.akickoff_for_each([{"topic": "warm-up"}] * 200, max_concurrency=200)
        before = rss_mib()
        trace: list[tuple[float, int, float, int]] = []
        max_tasks = 0
        done = asyncio.Event()
        started = time.perf_counter()

        async def monitor() -> None:
            nonlocal max_tasks
            while not done.is_set():
                tasks = len(asyncio.all_tasks())
                max_tasks = max(max_tasks, tasks)
                trace.append((round(time.perf_counter() - started, 2), pulled, rss_mib(), tasks))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), 0.05)

        watcher = asyncio.create_task(monitor())
        if mode == "iter":
            count = 0
            async for _ in crew.akickoff_for_each_iter(inputs(), max_concurrency=bound):
                count += 1
        else:
            count = len(await crew.akickoff_for_each(inputs(), max_concurrency=bound))
        wall = time.perf_counter() - started
        done.set()
        await watcher
        assert count == rows
        helpers = 3 if mode == "iter" else 2  # main task, monitor (and the iterator's feeder)
        # the monitor and the main task are not crew runs
        return {
            "rows": rows,
            "bound": bound,
            "mode": mode,
            "wall_s": round(wall, 2),
            "rows_per_s": round(rows / wall),
            "rss_before_mib": round(before, 1),
            "rss_after_mib": round(rss_mib(), 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "max_live_tasks_sampled": max_tasks,
            "max_live_run_tasks": max_tasks - helpers,
            "trace_every_10pct": [
                {"rows_pulled": p, "rss_mib": round(r, 1), "tasks": t}
                for (_, p, r, t) in trace[:: max(1, len(trace) // 10)]
            ],
        }

    print(json.dumps(run(go())))


if __name__ == "__main__":
    main()
