"""Benchmark helpers: time a coroutine on uvloop (wall + CPU), the raw-aiohttp baseline,
and a report that collects rows and saves them."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from fastcrew._loop import run

RESULTS_DIR = Path(os.environ.get("FASTCREW_BENCH_DIR", "bench-results"))


def timed(make: Callable[[], Coroutine[Any, Any, Any]]) -> tuple[float, float]:
    """Run ``make()`` on a fresh uvloop; return (wall seconds, this process's CPU seconds)."""
    wall0, cpu0 = time.perf_counter(), time.process_time()
    run(make())
    return time.perf_counter() - wall0, time.process_time() - cpu0


async def gather_bounded(n: int, concurrency: int, one: Callable[[], Awaitable[object]]) -> None:
    """Run ``one()`` n times with ``concurrency`` workers."""

    async def worker(count: int) -> None:
        for _ in range(count):
            await one()

    per, extra = divmod(n, concurrency)
    await asyncio.gather(*(worker(per + (i < extra)) for i in range(concurrency)))


def raw_aiohttp(
    base_url: str,
    body: bytes,
    n: int,
    concurrency: int,
    *,
    path: str = "/chat/completions",
    headers: Mapping[str, str] | None = None,
    check: Callable[[Any], object] | None = None,
):
    """The floor for any Python client: n aiohttp POSTs of ``body`` to ``base_url + path``
    (extra ``headers``) + orjson parse; ``check`` tests each answer (default: a chat one)."""

    async def main() -> None:
        url = f"{base_url}{path}"
        sent = {"Content-Type": "application/json", **(headers or {})}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

            async def one() -> None:
                async with session.post(url, data=body, headers=sent) as resp:
                    data = orjson.loads(await resp.read())
                    if check is None:
                        assert data["choices"][0]["message"]
                    else:
                        check(data)

            await gather_bounded(n, concurrency, one)

    return main


def utilization(per_second: list[float], stats: dict[str, Any]) -> dict[str, Any]:
    """The rate-limit benches' figures: the binding limit's share used per steady second
    (``per_second``), and the 429s among the simulator's requests (its ``stats``)."""
    total = stats["requests_total"]
    answered_429 = stats["by_status"].get("429", 0)
    return {
        "utilization_mean": round(statistics.fmean(per_second), 4),
        "utilization_min_second": round(min(per_second), 4),
        "seconds": len(per_second),
        "requests": total,
        "answered_429": answered_429,
        "share_429": round(answered_429 / max(1, total), 5),
    }


def best_cpu_ms(benchmark: Any, make: Callable[[], Coroutine[Any, Any, Any]], n: int) -> float:
    """Warm up once, run ``make`` for 3 rounds under pytest-benchmark; best CPU ms per item."""
    timed(make)  # warm-up: imports, connections, caches
    samples: list[float] = []

    def once() -> None:
        samples.append(timed(make)[1])

    benchmark.pedantic(once, rounds=3, iterations=1)
    return min(samples) / n * 1000


def ratios(cells: dict[tuple[str, int], float], ours: str, base: str) -> dict[str, float]:
    """``ours`` ÷ ``base`` per concurrency, for the concurrencies measured for both."""
    levels = sorted({c for _, c in cells})
    return {
        f"C={c}": round(cells[(ours, c)] / cells[(base, c)], 3)
        for c in levels
        if (ours, c) in cells and (base, c) in cells
    }


class Report:
    """Collects rows during a bench module and prints + saves them at the end."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: list[dict[str, Any]] = []
        self.summary: dict[str, Any] = {}

    def add(self, **row: Any) -> None:
        self.rows.append(row)
        print("\n" + "  ".join(f"{k}={v}" for k, v in row.items()))

    def save(self) -> None:
        """Write rows and summary to ``bench-results/<name>.json`` and print the summary."""
        if not self.rows:
            return
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{self.name}.json"
        path.write_text(json.dumps({"rows": self.rows, "summary": self.summary}, indent=2))
        print(f"\n[{self.name}] " + json.dumps(self.summary) + f"  (saved to {path})")
