"""Memory's cost in crews: N runs of a two-task crew, C at a time, on the spawned simulator
(no latency, no tool calls: ``tool_rounds=0``), with ``memory=False`` and with
``memory=True``, each run in its own batch-row scope (``batch_row(i)``, as ``fastcrew batch``
runs rows). With memory, a task first recalls (an embedding of its description + a LanceDB
search), and afterwards the memory's LLM extracts memories from the task and its result,
analyses each one (an LLM call apiece), and they are embedded and written to LanceDB (under
the table's file lock). Both cells run one Crew object, as a batch worker does.

Reported per run: wall, this process's CPU (every thread: LanceDB's included), the chat and
embedding requests the simulator answered; and the CPU ratio memory / no memory. The extra
LLM calls are the feature's (CrewAI makes the same ones), so the figure to watch is CPU per
extra call: the runtime's own cost around the calls, LanceDB's writes and searches.

No target is named for this cell (issue 23 names indexing and retrieval); it is here so that
memory's cost in a batch is measured, not guessed.
"""

from __future__ import annotations

import os
import tempfile

import pytest
from benchlib import timed

from fastcrew import LLM, Agent, Crew, Task
from fastcrew.limits import RateLimit
from fastcrew.memory.scopes import batch_row
from fastcrew.sim import spawn
from fastcrew.vectors import STORAGE_ENV

pytestmark = pytest.mark.timeout(900)

N, C = 200, 50


@pytest.fixture(scope="module")
def sim():
    with spawn(tool_rounds=0) as server:
        yield server


def crew(base_url: str, memory: bool) -> Crew:
    llm = LLM("openai/sim-model", base_url=base_url, api_key="sk-bench",
              rate_limit=RateLimit(rpm=None, tpm=None))  # fmt: skip
    agent = Agent(role="Analyst", goal="Answer", backstory="Careful.", llm=llm)
    tasks = [
        Task(description="Note the order number {n} for customer {n}.",
             expected_output="One line.", agent=agent),
        Task(description="Which order number did customer {n} give?",
             expected_output="One line.", agent=agent, context=[]),
    ]  # fmt: skip
    embedder = {"provider": "openai", "config": {"api_base": base_url, "api_key": "sk-bench",
                                                 "dimensions": 256}}  # fmt: skip
    return Crew(agents=[agent], tasks=tasks, memory=memory, embedder=embedder)


def runs(base_url: str, memory: bool):
    async def main() -> None:
        import asyncio

        c = crew(base_url, memory)
        gate = asyncio.Semaphore(C)

        async def one(i: int) -> None:
            async with gate:
                with batch_row(i):
                    await c.akickoff({"n": str(1000 + i)})

        await asyncio.gather(*(one(i) for i in range(N)))

    return main


@pytest.mark.parametrize("memory", [False, True], ids=["memory_off", "memory_on"])
def test_memory_crews(benchmark, report, sim, memory: bool) -> None:
    samples: list[tuple[float, float, int, int]] = []

    def once() -> None:
        saved = os.environ.get(STORAGE_ENV)
        with tempfile.TemporaryDirectory() as folder:
            os.environ[STORAGE_ENV] = folder
            try:
                before = sim.stats()
                wall, cpu = timed(runs(sim.base_url, memory))
                after = sim.stats()
            finally:  # the next bench module sees the environment it had
                if saved is None:
                    del os.environ[STORAGE_ENV]
                else:
                    os.environ[STORAGE_ENV] = saved
        chats = after["requests_total"] - before["requests_total"]
        embeds = after["embedding_requests"] - before["embedding_requests"]
        samples.append((wall, cpu, chats, embeds))

    once()  # warm-up
    benchmark.pedantic(once, rounds=3, iterations=1)
    wall = min(s[0] for s in samples[1:])
    cpu = min(s[1] for s in samples[1:])
    _, _, chats, embeds = samples[-1]
    cell = "memory_on" if memory else "memory_off"
    figures = {
        "wall_ms_per_run": round(wall / N * 1e3, 3),
        "cpu_ms_per_run": round(cpu / N * 1e3, 3),
        "chat_requests_per_run": round(chats / N, 2),
        "embedding_requests_per_run": round(embeds / N, 2),
    }
    benchmark.extra_info.update(figures)
    report.add(cell=cell, runs=N, concurrency=C, **figures)
    report.summary[cell] = figures
    if "memory_off" in report.summary and "memory_on" in report.summary:
        off, on = report.summary["memory_off"], report.summary["memory_on"]
        extra_calls = on["chat_requests_per_run"] - off["chat_requests_per_run"]
        report.summary["cpu_ratio_on_over_off"] = round(
            on["cpu_ms_per_run"] / off["cpu_ms_per_run"], 2
        )
        report.summary["extra_cpu_ms_per_extra_chat_call"] = round(
            (on["cpu_ms_per_run"] - off["cpu_ms_per_run"]) / max(extra_calls, 1e-9), 3
        )
