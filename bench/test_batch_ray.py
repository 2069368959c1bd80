"""The Ray backend against the local one, on a real two-node Ray cluster on this machine.

- **throughput**: the same 20,000 rows of the research crew (2 LLM calls each) at 200 ms
  latency, local backend vs Ray backend with the same total worker count (2: one actor per
  node), in one run: rows/s (wall, incl. starting the workers) and client CPU per row —
  local: supervisor + worker processes; Ray: driver + every process of the cluster (actors,
  and Ray's own raylets/GCS/agents, so the engine's price is counted, not hidden);
- **lease path**: 10,000 one-call rows at zero latency with ``--rpm`` far above what is
  reached (every call leases from the driver's global budget) vs without a limit (no
  leasing): the extra client CPU per request, both backends;
- **start-up**: ``ray start`` of the two nodes, and a run's fixed cost (connect + actors up)
  from a 4-row run;
- **grant rate**: how many leases per second the driver's ``GlobalBudgets`` grants (its
  state machine alone, the bound of one budget owner).

Rows via ``FASTCREW_BENCH_RAY_ROWS`` (default 20,000).
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from batch_common import ONE_TASK_CREW, RESEARCH_CREW, children_cpu, write_topics

from fastcrew import run_batch
from fastcrew.batch.supervisor.budget import GlobalBudgets
from fastcrew.batch.wire.messages import Want
from fastcrew.sim import spawn

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from batch_ray.conftest import RayCluster, local_cluster

pytestmark = pytest.mark.timeout(1200)

ROWS = int(os.environ.get("FASTCREW_BENCH_RAY_ROWS", "20000"))
LATENCY_MS = 200
CONCURRENCY = 1000
WORKERS = 2
LEASE_ROWS = 10_000


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    with local_cluster() as running:
        yield running


class ClusterCpu:
    """CPU used by the cluster's processes during a run, sampled (an actor's CPU is gone from
    /proc once it exits, so the last sample of each process counts: pids every 0.5 s, their
    CPU every 0.1 s). The sampler's own CPU (it runs in this process) is in ``own``."""

    def __init__(self, cluster: RayCluster) -> None:
        self.cluster = cluster
        self.start = cluster.cpu_by_pid()
        self.last = dict(self.start)
        self.own = 0.0
        self.actors: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        began = time.thread_time()
        pids = list(self.last)
        n = 0
        while not self._stop.wait(0.1):
            n += 1
            if n % 5 == 0:
                self.last.update(self.cluster.cpu_by_pid())
                self.actors.update(self.cluster.actor_pids())
                pids = list(self.last)
            else:
                self.last.update(self.cluster.cpu_by_pid(pids))
        self.own = time.thread_time() - began

    def stop(self) -> tuple[float, float]:
        """CPU seconds (worker actors, Ray's own processes) used since the start."""
        self._stop.set()
        self._thread.join()
        self.last.update(self.cluster.cpu_by_pid())
        actors = set(self.actors)
        used = {pid: v - self.start.get(pid, 0.0) for pid, v in self.last.items()}
        mine = sum(v for pid, v in used.items() if pid in actors)
        return mine, sum(used.values()) - mine


def _run(inputs: Path, out: Path, base_url: str, backend: str, cluster: RayCluster, **kw: Any):
    if backend == "ray":
        kw.update(backend="ray", ray_address=cluster.address)
    sampler = ClusterCpu(cluster)
    cpu0, kids0 = time.process_time(), children_cpu()
    wall0 = time.perf_counter()
    result = run_batch(inputs, output=out, base_url=base_url, restart=True, quiet=True, **kw)
    wall = time.perf_counter() - wall0
    actors, daemons = sampler.stop()
    driver = time.process_time() - cpu0 - sampler.own
    if backend == "local":  # Ray idles meanwhile: its daemons are not this run's
        workers, daemons = children_cpu() - kids0, 0.0
    else:
        workers = actors + daemons
    assert result.exit_code == 0
    return result, wall, driver, workers, daemons


def test_ray_vs_local_throughput(benchmark, report, cluster, tmp_path):
    inputs = write_topics(tmp_path / "topics.jsonl", ROWS)
    found: dict[str, Any] = {}

    def once() -> None:
        with spawn(latency_ms=LATENCY_MS, seed=1) as sim:
            for backend in ("local", "ray"):
                _, wall, driver, workers, daemons = _run(
                    inputs,
                    tmp_path / f"{backend}.jsonl",
                    sim.base_url,
                    backend,
                    cluster,
                    crew=RESEARCH_CREW,
                    workers=WORKERS,
                    concurrency=CONCURRENCY,
                )
                found[backend] = {
                    "wall_s": round(wall, 2),
                    "rows_per_s": round(ROWS / wall, 1),
                    "cpu_ms_per_row": round((driver + workers) / ROWS * 1000, 3),
                    "driver_cpu_ms_per_row": round(driver / ROWS * 1000, 3),
                    "workers_cpu_ms_per_row": round(workers / ROWS * 1000, 3),
                    "ray_daemons_cpu_ms_per_row": round(daemons / ROWS * 1000, 3),
                }
        found["ray_over_local_cpu"] = round(
            found["ray"]["cpu_ms_per_row"] / found["local"]["cpu_ms_per_row"], 2
        )

    benchmark.pedantic(once, rounds=1, iterations=1)
    benchmark.extra_info.update(found)
    report.add(kind="throughput", rows=ROWS, latency_ms=LATENCY_MS, workers=WORKERS, **found)
    report.summary["throughput"] = found


def test_lease_path_cost_per_request(benchmark, report, cluster, tmp_path):
    inputs = write_topics(tmp_path / "lease.jsonl", LEASE_ROWS)
    found: dict[str, Any] = {}

    def once() -> None:
        with spawn(seed=2) as sim:
            for backend in ("local", "ray"):
                cpu = {}
                for leased in (False, True):
                    _, _, driver, workers, daemons = _run(
                        inputs,
                        tmp_path / "out.jsonl",
                        sim.base_url,
                        backend,
                        cluster,
                        crew=ONE_TASK_CREW,
                        workers=WORKERS,
                        concurrency=100,
                        rpm=10_000_000 if leased else None,
                    )
                    # the lease path is the driver's and the workers' (not Ray's daemons')
                    cpu[leased] = (driver + workers - daemons) / LEASE_ROWS * 1000
                found[backend] = {
                    "cpu_ms_per_request_unleased": round(cpu[False], 3),
                    "cpu_ms_per_request_leased": round(cpu[True], 3),
                    "lease_path_ms_per_request": round(cpu[True] - cpu[False], 3),
                }

    benchmark.pedantic(once, rounds=1, iterations=1)
    benchmark.extra_info.update(found)
    report.add(kind="lease_path", rows=LEASE_ROWS, **found)
    report.summary["lease_path"] = found


def test_ray_startup_cost(benchmark, report, cluster, tmp_path):
    inputs = write_topics(tmp_path / "tiny.jsonl", 4)
    found: dict[str, Any] = {"ray_start_two_nodes_s": round(cluster.started_in_s, 2)}

    def once() -> None:
        with spawn(seed=3) as sim:
            for backend in ("local", "ray"):
                _, wall, _, _, _ = _run(
                    inputs, tmp_path / "tiny.jsonl.out", sim.base_url, backend, cluster,
                    crew=ONE_TASK_CREW, workers=4,
                )  # fmt: skip
                found[f"{backend}_4_workers_4_rows_s"] = round(wall, 2)

    benchmark.pedantic(once, rounds=1, iterations=1)
    benchmark.extra_info.update(found)
    report.add(kind="startup", **found)
    report.summary["startup"] = found


def test_global_budget_grant_rate(benchmark, report):
    """Leases per second the driver's budget state machine grants (200 workers asking)."""
    grants = 200_000
    workers = 200

    def once() -> float:
        async def main() -> float:
            sent: list[tuple[int, tuple[Any, ...]]] = []
            budgets = GlobalBudgets(lambda w, m: sent.append((w, m)), asyncio.get_running_loop())
            for w in range(workers):
                budgets.add_worker(w)
            limit = (10**9, None, None, None, 1.0)
            started = time.perf_counter()
            for i in range(grants):
                budgets.handle(i % workers, Want(1, "key", 1, 0, limit, 0, 1, 0))
                if i % 64 == 63:
                    sent.clear()
            elapsed = time.perf_counter() - started
            budgets.close()
            return grants / elapsed

        return asyncio.run(main())

    rate = benchmark.pedantic(once, rounds=3, iterations=1)
    found = {"grants_per_s": round(rate), "us_per_grant": round(1e6 / rate, 2)}
    benchmark.extra_info.update(found)
    report.add(kind="grant_rate", **found)
    report.summary["grant_rate"] = found
