"""The limiter and the retry layer over real loopback HTTP against the simulator (bounded)."""

import asyncio

import pytest

from fastcrew import LLM, RateLimit, RetryPolicy, errors
from fastcrew.limits import SharedBudget
from fastcrew.limits.source import DEFAULT_LAG_S
from fastcrew.sim import serve

FAST_RETRY = RetryPolicy(max_attempts=10, base_delay=0.001, max_delay=0.01)


async def test_transient_faults_are_retried_until_every_call_succeeds():
    async with serve(seed=3, fail_rate=0.3, malformed_rate=0.1, reset_rate=0.1) as sim:
        llm = LLM("m", base_url=sim.base_url, retry=FAST_RETRY)
        results = await asyncio.gather(*(llm.achat(f"row {i}") for i in range(60)))
        stats = sim.stats()
    assert all(f"row {i}" in r.content for i, r in enumerate(results))
    faults = stats["faults"]
    failed = faults["fail"] + faults["malformed"] + faults["reset"]
    assert failed > 0
    assert sum(r.retries for r in results) == failed
    assert stats["requests_total"] == 60 + failed


async def test_one_retry_layer_an_always_failing_server_gets_exactly_max_attempts():
    async with serve(fail_rate=1.0) as sim:
        llm = LLM("m", base_url=sim.base_url, retry=RetryPolicy(max_attempts=3, base_delay=0))
        with pytest.raises(errors.ServerError):
            await llm.achat("x")
        assert sim.stats()["requests_total"] == 3  # CrewAI's three layers sent 9


async def test_client_errors_are_not_retried():
    key = "sk-right-000000000000"
    async with serve(api_key=key) as sim:
        wrong = LLM("m", base_url=sim.base_url, api_key="sk-wrong-000000000000", retry=FAST_RETRY)
        with pytest.raises(errors.AuthenticationError):
            await wrong.achat("x")
        right = LLM("m", base_url=sim.base_url, api_key=key, retry=FAST_RETRY)
        with pytest.raises(errors.BadRequestError):
            await right.achat([{"content": "no role"}])
        assert sim.stats()["requests_total"] == 2


async def test_429s_pause_and_every_call_eventually_succeeds():
    # A strict provider: 6000 rpm with a 10 ms window (capacity 1), i.e. one call per 10 ms.
    async with serve(rpm=6000, limit_window_s=0.01) as sim:
        llm = LLM("m", base_url=sim.base_url)  # auto limits, learned from the first answers
        results = await asyncio.gather(*(llm.achat(f"c{i}") for i in range(40)))
        stats = sim.stats()
    assert len(results) == 40
    assert stats["by_status"]["200"] == 40
    assert stats["by_status"].get("429", 0) == sum(r.retries for r in results)
    assert llm.limiter().stats.rate_limited == stats["by_status"].get("429", 0)


async def test_our_budget_keeps_a_strict_provider_free_of_429s():
    async with serve(rpm=6000, limit_window_s=0.05) as sim:  # capacity 5, 100/s
        limit = RateLimit(rpm=4800, tpm=None, burst=0.05)  # 80 % of it, same window
        llm = LLM("m", base_url=sim.base_url, rate_limit=limit)
        await asyncio.gather(*(llm.achat(f"c{i}") for i in range(60)))
        stats = sim.stats()
    assert stats["by_status"] == {"200": 60}, stats


async def test_quota_exhaustion_stops_calls_at_once():
    async with serve(quota_after=3, latency_ms=20) as sim:
        llm = LLM("m", base_url=sim.base_url, rate_limit=RateLimit(rpm=None, tpm=None))
        for i in range(3):
            await llm.achat(f"ok {i}")
        with pytest.raises(errors.QuotaExhaustedError):
            await llm.achat("the one that finds out")
        outcomes = await asyncio.gather(
            *(llm.achat(f"late {i}") for i in range(20)), return_exceptions=True
        )
        sent = sim.stats()["requests_total"]
    assert sent == 4  # after the first quota answer nothing more was sent
    assert all(isinstance(o, errors.QuotaExhaustedError) for o in outcomes)
    assert len({id(o) for o in outcomes}) == 20  # a fresh error each: notes do not pile up


async def test_headers_teach_auto_limits_and_stop_429s():
    async with serve(rpm=600, limit_window_s=1) as sim:  # 10/s, capacity 10
        llm = LLM("m", base_url=sim.base_url)  # default: RateLimit("auto", "auto")
        await llm.achat("learn")
        source = llm.limiter().source
        assert isinstance(source, SharedBudget)
        assert source.budget.requests is not None
        assert source.budget.requests.rate == pytest.approx(10.0)
        await asyncio.gather(*(llm.achat(f"c{i}") for i in range(15)))
        stats = sim.stats()
    assert stats["by_status"] == {"200": 16}


@pytest.mark.looptime
async def test_the_budget_is_used_to_the_full():
    # Loop time is fast-forwarded; the calls still go over HTTP to an unlimited simulator.
    async with serve() as sim:
        llm = LLM("m", base_url=sim.base_url, rate_limit=RateLimit(rpm=6000, tpm=None))
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.gather(*(llm.achat(f"c{i}") for i in range(300)))
        elapsed = loop.time() - start
    # 100 at once (one second's burst), then 100/s after the burst's lag: exactly the limit.
    assert elapsed == pytest.approx(2.0 + DEFAULT_LAG_S, abs=0.02)


async def test_per_call_timeout_and_crew_deadline_are_separate_and_both_cancel():
    from fastcrew import Agent, Crew, ExecutionTimeoutError, Task

    async with serve(stall_rate=1.0) as sim:
        llm = LLM(
            "m",
            base_url=sim.base_url,
            timeout=0.2,
            retry=RetryPolicy(max_attempts=3, base_delay=0),
            rate_limit=RateLimit(rpm=None, tpm=None),
        )

        def crew(deadline: float) -> Crew:
            a = Agent(role="R", goal="g", backstory="b", llm=llm, max_execution_time=deadline)
            return Crew(agents=[a], tasks=[Task(description="d", expected_output="e", agent=a)])

        # Each attempt times out after 0.2 s; after 3 attempts the call fails as itself.
        with pytest.raises(errors.LLMTimeoutError):
            await crew(deadline=30).akickoff()
        assert sim.stats()["requests_total"] == 3
        # A 0.3 s deadline cancels the second attempt in flight.
        with pytest.raises(ExecutionTimeoutError):
            await crew(deadline=0.3).akickoff()
        assert sim.stats()["requests_total"] == 5
