"""``ainvoke``, the agent loop's per-call API: validation as text, errors counted, the per-run
cache, usage limits, and where sync and async tools run."""

from __future__ import annotations

import asyncio
import threading

import pytest
from pydantic import BaseModel

from fastcrew.tools import BaseTool, ToolRunState, tool


def multiplier() -> tuple[BaseTool, list[tuple[int, int]]]:
    """CrewAI's cache example: only even results may be cached. Returns (tool, calls)."""
    calls: list[tuple[int, int]] = []

    @tool
    def multiplication_tool(first_number: int, second_number: int) -> int:
        """Useful for when you need to multiply two numbers together."""
        calls.append((first_number, second_number))
        return first_number * second_number

    multiplication_tool.cache_function = lambda args, result: result % 2 == 0
    return multiplication_tool, calls


async def test_valid_call_returns_the_result_as_text() -> None:
    mult, _ = multiplier()
    result = await mult.ainvoke('{"first_number": 6, "second_number": 7}', state=ToolRunState())
    assert (result.text, result.value, result.error) == ("42", 42, False)
    assert result.arguments == {"first_number": 6, "second_number": 7}


@pytest.mark.parametrize(
    ("arguments", "expect"),
    [
        ('{"first_number": "six", "second_number": 7}', "first_number: Input should be"),
        ('{"second_number": 7}', "first_number: Field required"),
        ('{"first_number": 6, "second_number": 7', "not valid JSON"),
        ("[6, 7]", "must be one JSON object, not list"),
    ],
)
async def test_bad_arguments_become_the_observation_and_count(arguments: str, expect: str) -> None:
    mult, calls = multiplier()
    state = ToolRunState()
    result = await mult.ainvoke(arguments, state=state)
    assert result.error
    assert result.error_kind == "arguments"
    assert expect in result.text
    assert "matching this schema" in result.text
    assert '"first_number"' in result.text
    assert (state.tools_errors, state.used_tools, calls) == (1, 0, [])


@pytest.mark.parametrize(
    "arguments",
    [
        '```json\n{"first_number": 2, "second_number": 5}\n```',
        "{'first_number': 2, 'second_number': 5}",
        '"{\\"first_number\\": 2, \\"second_number\\": 5}"',
        {"second_number": "5", "first_number": 2, "unknown": True},
    ],
)
async def test_arguments_models_write_loosely_are_accepted(arguments: object) -> None:
    mult, calls = multiplier()
    result = await mult.ainvoke(arguments, state=ToolRunState())  # type: ignore[arg-type]
    assert (result.text, calls) == ("10", [(2, 5)])


async def test_a_tool_that_raises_gives_the_error_text_and_counts_in_tools_errors() -> None:
    @tool("Flaky")
    def flaky(x: int) -> str:
        """Always fails."""
        raise ValueError(f"backend down for {x}")

    state = ToolRunState()
    first = await flaky.ainvoke({"x": 1}, state=state)
    second = await flaky.ainvoke({"x": 2}, state=state)
    assert first.error
    assert first.error_kind == "raised"
    assert not first.as_answer
    assert "Error: tool 'Flaky' raised ValueError: backend down for 1" in first.text
    assert "backend down for 2" in second.text
    assert (state.tools_errors, state.used_tools) == (2, 0)


async def test_cache_hits_and_misses_follow_cache_function() -> None:
    mult, calls = multiplier()
    state = ToolRunState()
    even = await mult.ainvoke({"first_number": 2, "second_number": 3}, state=state)
    again = await mult.ainvoke('{"second_number": 3, "first_number": "2"}', state=state)
    odd = await mult.ainvoke({"first_number": 3, "second_number": 3}, state=state)
    odd_again = await mult.ainvoke({"first_number": 3, "second_number": 3}, state=state)
    assert [r.text for r in (even, again, odd, odd_again)] == ["6", "6", "9", "9"]
    assert [r.from_cache for r in (even, again, odd, odd_again)] == [False, True, False, False]
    assert calls == [(2, 3), (3, 3), (3, 3)]  # the even result ran once; the odd one twice
    assert (state.cache_hits, state.used_tools, mult.current_usage_count) == (1, 4, 3)


async def test_cache_is_per_run_and_can_be_switched_off() -> None:
    mult, calls = multiplier()
    args = {"first_number": 2, "second_number": 2}
    run_a, run_b, uncached = ToolRunState(), ToolRunState(), ToolRunState(cache=False)
    await mult.ainvoke(args, state=run_a)
    await mult.ainvoke(args, state=run_a)
    await mult.ainvoke(args, state=run_b)  # another run: its own cache
    await mult.ainvoke(args, state=uncached)
    await mult.ainvoke(args, state=uncached)
    await mult.ainvoke(args, state=run_a, cache=False)  # the calling agent has cache=False
    await mult.ainvoke(args)  # no run state: no cache
    assert len(calls) == 6


async def test_errors_are_not_cached() -> None:
    attempts = []

    @tool
    def sometimes(x: int) -> str:
        """Fails the first time."""
        attempts.append(x)
        if len(attempts) == 1:
            raise RuntimeError("first try fails")
        return "ok"

    state = ToolRunState()
    assert (await sometimes.ainvoke({"x": 1}, state=state)).error
    assert (await sometimes.ainvoke({"x": 1}, state=state)).text == "ok"
    assert attempts == [1, 1]


async def test_max_usage_count_is_per_run_with_crewais_message() -> None:
    @tool("Search", max_usage_count=2)
    def search(query: str) -> str:
        """Search the web."""
        return f"results for {query}"

    run_a, run_b = ToolRunState(cache=False), ToolRunState(cache=False)
    texts = [(await search.ainvoke({"query": q}, state=run_a)).text for q in "abc"]
    limited = await search.ainvoke({"query": "d"}, state=run_a)
    fresh = await search.ainvoke({"query": "e"}, state=run_b)
    assert texts[:2] == ["results for a", "results for b"]
    message = "Tool 'Search' has reached its usage limit of 2 times and cannot be used anymore."
    assert texts[2] == message
    assert limited.text == message
    assert limited.error
    assert limited.error_kind == "usage_limit"
    assert fresh.text == "results for e"  # each run gets the full count
    assert (run_a.uses(search), run_b.uses(search), search.current_usage_count) == (2, 1, 3)
    assert run_a.tools_errors == 0  # CrewAI does not count a used-up limit as a tool error


async def test_concurrent_calls_cannot_overrun_the_limit() -> None:
    inside: list[int] = []
    all_in = asyncio.Event()

    @tool(max_usage_count=3)
    async def slow(i: int) -> int:
        """Waits until three calls are inside at once."""
        inside.append(i)
        if len(inside) == 3:
            all_in.set()
        await all_in.wait()
        return i

    state = ToolRunState(cache=False)
    results = await asyncio.gather(*(slow.ainvoke({"i": i}, state=state) for i in range(5)))
    assert sum(not r.error for r in results) == 3
    assert sum(r.error_kind == "usage_limit" for r in results) == 2
    assert len(inside) == 3


async def test_result_as_answer_is_exposed_on_success_only() -> None:
    @tool("Final report", result_as_answer=True)
    def final_report(topic: str) -> str:
        """Writes the final report."""
        if topic == "bad":
            raise ValueError("no data")
        return f"Report on {topic}"

    ok = await final_report.ainvoke({"topic": "tea"}, state=ToolRunState())
    failed = await final_report.ainvoke({"topic": "bad"}, state=ToolRunState())
    assert ok.as_answer
    assert ok.text == "Report on tea"
    assert not failed.as_answer
    assert failed.error


async def test_structured_results_are_sent_as_json() -> None:
    class Weather(BaseModel):
        city: str
        celsius: float

    @tool
    def weather(city: str) -> Weather:
        """Weather as fields."""
        return Weather(city=city, celsius=21.5)

    @tool
    def facts(city: str) -> dict:
        """Facts as a mapping."""
        return {"city": city, "tags": ["old", "big"]}

    assert (await weather.ainvoke({"city": "Rome"})).text == '{"city":"Rome","celsius":21.5}'
    assert (await facts.ainvoke({"city": "Rome"})).text == '{"city":"Rome","tags":["old","big"]}'


async def test_async_tools_run_on_the_callers_loop() -> None:
    seen: list[tuple[asyncio.AbstractEventLoop, int]] = []

    class Lookup(BaseTool):
        name: str = "lookup"
        description: str = "Async lookup."

        async def _arun(self, key: str) -> str:
            seen.append((asyncio.get_running_loop(), threading.get_ident()))
            return key.upper()

    result = await Lookup().ainvoke({"key": "k"}, state=ToolRunState())
    assert result.text == "K"
    assert seen == [(asyncio.get_running_loop(), threading.get_ident())]


async def test_sync_tools_run_in_threads_concurrently_without_blocking_the_loop() -> None:
    n = 4
    together = threading.Barrier(n, timeout=10)  # passes only if n calls run at once
    loop_ran = threading.Event()  # set by a coroutine: only possible if the loop is free
    threads: list[str] = []

    @tool
    def blocking(i: int) -> int:
        """Blocks its thread."""
        threads.append(threading.current_thread().name)
        assert loop_ran.wait(10), "the event loop was blocked by a sync tool"
        together.wait()
        return i

    async def mark_loop_free() -> None:
        loop_ran.set()

    state = ToolRunState(cache=False)
    *results, _ = await asyncio.gather(
        *(blocking.ainvoke({"i": i}, state=state) for i in range(n)), mark_loop_free()
    )
    assert [r.text for r in results] == ["0", "1", "2", "3"]
    assert not any(r.error for r in results)
    assert len(set(threads)) == n
    assert all(t.startswith("fastcrew-sync") for t in threads)


async def test_cancellation_goes_through_the_tool() -> None:
    started, cleaned = asyncio.Event(), []

    @tool
    async def forever(x: int) -> str:
        """Never finishes on its own."""
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append(x)
        return "unreachable"

    state = ToolRunState()
    task = asyncio.ensure_future(forever.ainvoke({"x": 7}, state=state))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [7]
    assert state.tools_errors == 0


async def test_a_tool_without_arguments_takes_empty_text() -> None:
    @tool
    def now() -> str:
        """The time."""
        return "noon"

    for arguments in ("", "{}", None, "null"):
        assert (await now.ainvoke(arguments)).text == "noon"
    assert now.parameters() == {"additionalProperties": False, "properties": {}, "type": "object"}
