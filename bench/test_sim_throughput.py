"""Simulator throughput: requests/s of ``fastcrew sim`` at zero latency (target ≥ 3,000), for
plain answers, with rate-limit headers, and for tool-call answers.

The simulator runs in its own process on uvloop (``fastcrew.sim.spawn``); this process drives
it with raw aiohttp keep-alive clients (concurrency 50) and no fastcrew client code, so the
figure is the simulator's, not our client's. Server CPU per request is read from /proc.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from benchlib import timed

from fastcrew._json import dumps, loads
from fastcrew.sim import SpawnedSim, spawn

N = 20_000
CONCURRENCY = 50
TARGET = 3_000
MESSAGES = [{"role": "user", "content": "benchmark prompt " * 8}]
TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["query"],
        },
    },
}
PLAIN = dumps({"model": "sim", "messages": MESSAGES})
VARIANTS: dict[str, tuple[dict[str, Any], bytes]] = {
    "plain": ({}, PLAIN),
    "with_limit_headers": ({"rpm": 10**9, "tpm": 10**12}, PLAIN),
    "tool_calls": ({}, dumps({"model": "sim", "messages": MESSAGES, "tools": [TOOL]})),
}


def _load(base_url: str, n: int, concurrency: int, body: bytes = PLAIN):
    async def main() -> None:
        url = f"{base_url}/chat/completions"
        headers = {"Content-Type": "application/json"}
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker(count: int) -> None:
                for _ in range(count):
                    async with session.post(url, data=body, headers=headers) as resp:
                        message = loads(await resp.read())["choices"][0]["message"]
                        assert message["content"] or message["tool_calls"]

            per, extra = divmod(n, concurrency)
            await asyncio.gather(*(worker(per + (i < extra)) for i in range(concurrency)))

    return main


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process (Linux /proc), or None elsewhere."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return None
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_sim_throughput(benchmark, report, variant: str) -> None:
    sim: SpawnedSim
    options, body = VARIANTS[variant]
    with spawn(**options) as sim:
        timed(_load(sim.base_url, 2_000, CONCURRENCY, body))  # warm-up: connections, caches
        sim.reset_stats()
        rates: list[float] = []
        server_cpu: list[float] = []

        def once() -> None:
            cpu0 = _cpu_seconds(sim.pid)
            wall, _ = timed(_load(sim.base_url, N, CONCURRENCY, body))
            cpu1 = _cpu_seconds(sim.pid)
            rates.append(N / wall)
            if cpu0 is not None and cpu1 is not None:
                server_cpu.append((cpu1 - cpu0) / N * 1000)

        benchmark.pedantic(once, rounds=3, iterations=1)
        stats = sim.stats()
    assert stats["by_status"] == {"200": 3 * N}
    best = round(max(rates))
    row: dict[str, Any] = {"variant": variant, "n": N, "concurrency": CONCURRENCY}
    row["requests_per_s"] = best
    if server_cpu:
        row["server_cpu_ms_per_request"] = round(min(server_cpu), 4)
    benchmark.extra_info.update(row, target_requests_per_s=TARGET)
    report.add(**row)
    report.summary[f"{variant}_requests_per_s"] = best
    report.summary["target_requests_per_s"] = TARGET
    print(f"\nfastcrew sim ({variant}): {best} requests/s (target >= {TARGET})")
