"""Separate input- and output-token budgets (Anthropic's ITPM / OTPM) in one process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fastcrew.errors import RateLimitError
from fastcrew.limits import Limiter, LocalBudget, RateLimit, RateLimitSnapshot
from fastcrew.llm.anthropic import anthropic_error

pytestmark = pytest.mark.looptime

SPLIT = RateLimit(rpm=None, tpm=None, itpm=6_000, otpm=600, charge="usage")  # 100/s, 10/s


def test_a_call_takes_its_answer_allowance_from_output_and_the_rest_from_input():
    budget = LocalBudget(SPLIT, now=0.0, lag=0.0)
    assert budget.tokens is None
    assert budget.input is not None
    assert budget.output is not None
    # The buckets hold a whole minute, as Anthropic's do.
    assert (budget.input.capacity, budget.output.capacity) == (6_000, 600)
    budget.take(700, 0.0, 500)  # 200 input, 500 output
    assert budget.input.level == 5_800
    assert budget.output.level == 100
    assert budget.wait_time(300, 0.0, 200) == pytest.approx(10.0)  # 100 more output: 10 s
    assert budget.wait_time(6_000, 0.0, 0) == pytest.approx(2.0)  # 200 more input: 2 s


async def test_the_unused_answer_allowance_comes_back_when_the_call_ends():
    limiter = Limiter(LocalBudget(SPLIT, now=0.0, lag=0.0))
    source = limiter.source
    assert isinstance(source, LocalBudget)
    lease = await limiter.acquire(600, completion=500)
    lease.settle_usage(120, 30)  # the prompt was 120, the answer 30 tokens
    assert source.output is not None
    assert source.input is not None
    assert source.output.level == pytest.approx(600 - 30)
    assert source.input.level == pytest.approx(6_000 - 120)


async def test_under_the_max_tokens_charge_the_allowance_stays_spent():
    limit = RateLimit(rpm=None, tpm=None, itpm=6_000, otpm=600, charge="max_tokens")
    limiter = Limiter(LocalBudget(limit, now=0.0, lag=0.0))
    source = limiter.source
    assert isinstance(source, LocalBudget)
    lease = await limiter.acquire(600, completion=500)
    lease.settle_usage(100, 30)
    assert source.output is not None
    assert source.output.level == pytest.approx(100)


async def test_calls_wait_for_the_output_budget_while_input_is_plentiful():
    limiter = Limiter(LocalBudget(SPLIT, now=0.0, lag=0.0))
    loop = limiter._loop
    start = loop.time()
    for _ in range(3):  # 3 x 400 output tokens from a 600 bucket refilled at 10/s:
        (await limiter.acquire(410, completion=400)).settle(None)  # at 0, 20 and 60 s
    assert loop.time() - start == pytest.approx(60.0, abs=0.01)


def test_a_429_on_output_tokens_pauses_only_the_output_bucket():
    budget = LocalBudget(SPLIT, now=0.0, lag=0.0)
    budget.pause("output_tokens", until=5.0, now=0.0)
    assert budget.wait_time(10, 0.0, 5) == pytest.approx(5.0)  # emptied, refilled by then
    assert budget.input is not None
    assert budget.input.wait_time(5, 0.0) == 0.0  # the input budget goes on


def _reset_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def test_auto_budgets_are_learned_from_anthropics_headers_and_clamped_to_what_remains():
    budget = LocalBudget(RateLimit(), now=0.0)  # everything "auto"
    headers = {
        "anthropic-ratelimit-input-tokens-limit": "120000",
        "anthropic-ratelimit-input-tokens-remaining": "90000",
        "anthropic-ratelimit-input-tokens-reset": _reset_in(15),
        "anthropic-ratelimit-output-tokens-limit": "24000",
        "anthropic-ratelimit-output-tokens-remaining": "1000",
        "anthropic-ratelimit-output-tokens-reset": _reset_in(58),
    }
    budget.observe(RateLimitSnapshot.from_headers(headers), now=0.0)
    assert budget.requests is None  # not sent: stays unknown
    assert budget.tokens is None
    assert budget.input is not None
    assert budget.output is not None
    assert budget.input.rate == pytest.approx(2_000)
    assert budget.output.rate == pytest.approx(400)
    assert (budget.input.level, budget.output.level) == (90_000, 1_000)


def test_anthropics_429_names_the_budget_its_headers_show_empty():
    headers = {
        "anthropic-ratelimit-output-tokens-limit": "24000",
        "anthropic-ratelimit-output-tokens-remaining": "0",
        "anthropic-ratelimit-output-tokens-reset": _reset_in(7),
        "anthropic-ratelimit-input-tokens-limit": "120000",
        "anthropic-ratelimit-input-tokens-remaining": "50000",
    }
    body = b'{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}'
    error = anthropic_error(429, body, headers, None)
    assert isinstance(error, RateLimitError)
    assert error.limit == "output_tokens"
    assert error.retry_after == pytest.approx(7, abs=1.5)  # no retry-after: the reset


def test_a_paused_output_bucket_refills_while_it_waits_out_the_retry_after():
    # Anthropic's Retry-After says when its bucket has room for the refused call; a minute's
    # bucket restarted empty at that moment would need up to a minute more.
    budget = LocalBudget(SPLIT, now=0.0, lag=0.0)
    budget.take(600, 0.0, 600)
    budget.pause("output_tokens", until=4.0, now=0.0)
    assert budget.wait_time(50, 1.0, 40) == pytest.approx(3.0)  # held, though it has 10
    assert budget.wait_time(50, 4.0, 40) == 0.0  # 40 refilled by then
