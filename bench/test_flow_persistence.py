"""The cost of ``@persist``: a four-step async flow with a typed state (a topic and a list of
four short strings), plain vs ``@persist`` on the class (a SQLite save after each of its
four methods, the last one marked finished), on uvloop.

Cells: ``sequential`` — one flow after another (wall per flow = CPU + the save's thread
hop and SQLite write); ``concurrent`` — 100 flows at once on one loop and one store (the
saves share one connection under a lock). Wall and CPU per flow; a batch row of a flow with
LLM calls costs hundreds of ms, so the per-row figure is what to compare with.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from fastcrew._loop import run
from fastcrew.flow import Flow, SQLiteFlowPersistence, listen, persist, start

N = 400
CONCURRENCY = 100
cells: dict[tuple[str, str], tuple[float, float]] = {}


class Steps(BaseModel):
    topic: str = ""
    answers: list[str] = []


class Plain(Flow[Steps]):
    @start()
    async def s1(self) -> None:
        self.state.answers.append("one")

    @listen(s1)
    async def s2(self) -> None:
        self.state.answers.append("two")

    @listen(s2)
    async def s3(self) -> None:
        self.state.answers.append("three")

    @listen(s3)
    async def s4(self) -> int:
        self.state.answers.append("four")
        return len(self.state.answers)


def persisted(db: Path) -> type[Flow[Steps]]:
    @persist(SQLiteFlowPersistence(db))
    class Saved(Plain):
        pass

    return Saved


@pytest.mark.parametrize("mode", ["sequential", "concurrent"])
@pytest.mark.parametrize("variant", ["plain", "persist"])
def test_persist_cost_per_flow(benchmark, report, tmp_path: Path, variant: str, mode: str):
    cls = Plain if variant == "plain" else persisted(tmp_path / "flows.db")
    counter = iter(range(10**9))

    async def one() -> None:
        assert await cls().akickoff({"id": f"f{next(counter)}", "topic": "tides"}) == 4

    async def many() -> None:
        if mode == "sequential":
            for _ in range(N):
                await one()
        else:
            for _ in range(N // CONCURRENCY):
                await asyncio.gather(*(one() for _ in range(CONCURRENCY)))

    run(many())  # warm-up: the file, the table, the thread pool
    samples: list[tuple[float, float]] = []

    def once() -> None:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        run(many())
        samples.append((time.perf_counter() - wall0, time.process_time() - cpu0))

    benchmark.pedantic(once, rounds=3, iterations=1)
    wall, cpu = min(s[0] for s in samples), min(s[1] for s in samples)
    wall_ms, cpu_ms = wall / N * 1000, cpu / N * 1000
    cells[(variant, mode)] = (wall_ms, cpu_ms)
    row = {"variant": variant, "mode": mode, "n": N}
    report.add(**row, wall_ms_per_flow=round(wall_ms, 4), cpu_ms_per_flow=round(cpu_ms, 4))
    report.summary.update(
        {
            f"{v}/{m}": {"wall_ms": round(w, 4), "cpu_ms": round(c, 4)}
            for (v, m), (w, c) in cells.items()
        }
    )
