"""CPU per tool call through ``BaseTool.ainvoke`` (what the agent loop does per tool call),
on uvloop: the model's JSON text parsed, validated with pydantic, the usage counted, the tool
run, the result turned into text.

Cells: an ``async def`` tool (awaited on the loop), a plain ``def`` tool (one hop into the
runtime's thread pool and back), a cache hit (no run), and the floor — awaiting the same
function directly with already-parsed arguments. Target: ≤ 0.05 ms CPU per async call.
"""

from __future__ import annotations

import pytest
from benchlib import best_cpu_ms

from fastcrew.tools import ToolRunState, tool

N = {"async_tool": 20_000, "sync_tool": 5_000, "cache_hit": 20_000, "bare_await": 20_000}
ARGS = '{"city": "Paris", "days": 3, "unit": "C"}'
cells: dict[str, float] = {}


async def _forecast(city: str, days: int = 1, unit: str = "C") -> str:
    return f"{city}: sunny for {days} days ({unit})"


def _forecast_sync(city: str, days: int = 1, unit: str = "C") -> str:
    return f"{city}: sunny for {days} days ({unit})"


_forecast.__doc__ = _forecast_sync.__doc__ = "The weather forecast of a city."
async_tool = tool("Forecast")(_forecast)
sync_tool = tool("Forecast sync")(_forecast_sync)


def _make(variant: str, n: int):
    async def calls(t, cache: bool) -> None:
        state = ToolRunState(cache=cache)
        for _ in range(n):
            result = await t.ainvoke(ARGS, state=state)
            assert not result.error

    async def bare() -> None:
        for _ in range(n):
            assert await _forecast(city="Paris", days=3, unit="C")

    if variant == "async_tool":
        return lambda: calls(async_tool, False)
    if variant == "sync_tool":
        return lambda: calls(sync_tool, False)
    if variant == "cache_hit":
        return lambda: calls(async_tool, True)
    return bare


@pytest.mark.parametrize("variant", list(N))
def test_tool_invoke_cpu(benchmark, report, variant):
    n = N[variant]
    cpu_ms = best_cpu_ms(benchmark, _make(variant, n), n)
    cells[variant] = cpu_ms
    benchmark.extra_info.update(cpu_ms_per_call=round(cpu_ms, 5), n=n)
    report.add(variant=variant, n=n, cpu_ms_per_call=round(cpu_ms, 5))
    report.summary.update(
        cpu_ms_per_call={k: round(v, 5) for k, v in cells.items()},
        target="async_tool <= 0.05 ms",
    )
