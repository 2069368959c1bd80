"""Every answer the client parses carries its cost: ``usage.cost_usd`` is what
``fastcrew.pricing.Prices`` says for its usage; LLM-wide and process-wide prices; unknown
models priced 0, counted as unpriced and said once; streams priced from their usage chunk."""

from __future__ import annotations

import logging
import pickle
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fastcrew import LLM
from fastcrew.errors import ConfigurationError
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.llm import Usage, metered
from fastcrew.llm.cost import CallPricer
from fastcrew.llm.types import NO_USAGE
from fastcrew.pricing import Price, Prices, TokenUsage
from fastcrew.process_runtime import get_runtime

MODEL = "gpt-4.1-mini"
PER_M = 1e-6


def priced_llm(sim: Any, model: str = MODEL, **kwargs: Any) -> LLM:
    """An LLM on the simulator (which answers with the model the request named)."""
    kwargs.setdefault("retry", RetryPolicy(max_attempts=1))
    kwargs.setdefault("rate_limit", RateLimit(rpm=None, tpm=None))
    return LLM(model, base_url=sim.base_url, **kwargs)


@pytest.fixture
def process_prices() -> Iterator[None]:
    """Restore the runtime's prices after a test that sets them."""
    runtime = get_runtime()
    before = runtime.prices
    try:
        yield
    finally:
        runtime.set_prices(before)


async def test_an_answer_is_priced_as_prices_say_for_its_usage(sim):
    resp = await priced_llm(sim).achat("Tell me about owls")
    usage = resp.usage
    assert usage.prompt_tokens > 0
    assert usage.completion_tokens > 0
    expected = Prices().cost(MODEL, usage)
    assert expected.known
    assert expected.usd > 0
    assert (usage.cost_usd, usage.priced) == (expected.usd, True)
    # gpt-4.1-mini: $0.40 in, $1.60 out per million
    assert usage.cost_usd == pytest.approx(
        usage.prompt_tokens * 0.4 * PER_M + usage.completion_tokens * 1.6 * PER_M
    )


async def test_a_provider_prefixed_model_is_priced_as_the_bare_one(sim):
    resp = await priced_llm(sim, f"openai/{MODEL}").achat("Tell me about owls")
    assert resp.usage.priced
    assert resp.usage.cost_usd == Prices().cost(MODEL, resp.usage).usd


async def test_a_stream_is_priced_from_its_final_usage_chunk(sim):
    llm = priced_llm(sim)
    stream = await llm.achat("Tell me about owls", stream=True)
    deltas = [delta async for delta in stream]
    resp = stream.response
    assert resp.model == MODEL
    assert resp.usage.completion_tokens > 0
    assert resp.usage.priced
    assert resp.usage.cost_usd == Prices().cost(MODEL, resp.usage).usd > 0
    assert deltas[-1].usage == resp.usage  # the final delta carries the priced usage
    plain = await llm.achat("Tell me about owls")
    assert plain.usage == resp.usage  # same answer, same cost, streamed or not


def test_usage_from_wire_reads_cached_reasoning_and_cache_write_tokens():
    openai = {
        "prompt_tokens": 2000,
        "completion_tokens": 500,
        "total_tokens": 2500,
        "prompt_tokens_details": {"cached_tokens": 1500},
        "completion_tokens_details": {"reasoning_tokens": 300},
    }
    usage = Usage.from_wire(openai)
    assert (usage.prompt_tokens, usage.cached_prompt_tokens, usage.cache_write_tokens) == (
        2000,
        1500,
        0,
    )
    assert (usage.completion_tokens, usage.reasoning_tokens, usage.total_tokens) == (500, 300, 2500)
    assert not usage.priced
    anthropic = {
        "input_tokens": 100,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 400,
        "output_tokens": 50,
    }
    usage = Usage.from_wire(anthropic)
    assert (usage.prompt_tokens, usage.cached_prompt_tokens, usage.cache_write_tokens) == (
        1500,
        1000,
        400,
    )
    assert (usage.completion_tokens, usage.total_tokens) == (50, 1550)
    for wire, model in ((openai, "o4-mini"), (anthropic, "claude-sonnet-4-5")):
        # Usage holds what pricing reads: the same cost as pricing's own reading of the wire
        assert Prices().cost(model, Usage.from_wire(wire)) == Prices().cost(
            model, TokenUsage.from_wire(wire)
        )
    assert Usage.from_wire(None) is NO_USAGE
    assert Usage.from_wire({"total_tokens": 7}).total_tokens == 7


def test_cached_and_cache_write_tokens_change_the_cost():
    plain = Usage.from_wire({"input_tokens": 1500, "output_tokens": 50})
    cached = Usage.from_wire(
        {"input_tokens": 500, "cache_read_input_tokens": 1000, "output_tokens": 50}
    )
    written = Usage.from_wire(
        {"input_tokens": 500, "cache_creation_input_tokens": 1000, "output_tokens": 50}
    )
    pricer = CallPricer("claude-sonnet-4-5")
    cost = [pricer(u, None).cost_usd for u in (plain, cached, written)]
    assert cost[1] < cost[0] < cost[2]  # cache reads cost 0.1x input, writes 1.25x


async def test_an_unknown_model_costs_zero_is_counted_unpriced_and_said_once(sim, caplog):
    model = f"house-model-{uuid.uuid4().hex[:8]}"
    llm = priced_llm(sim, model)
    with caplog.at_level(logging.WARNING, logger="fastcrew.pricing"), metered() as meter:
        answers = [await llm.achat(f"Question {i}") for i in range(3)]
    assert [(a.usage.cost_usd, a.usage.priced) for a in answers] == [(0.0, False)] * 3
    assert all(a.usage.prompt_tokens > 0 for a in answers)
    warnings = [r for r in caplog.records if model in r.getMessage()]
    assert len(warnings) == 1
    assert "--price" in warnings[0].getMessage()
    assert (meter.requests, meter.unpriced_requests, meter.cost_usd) == (3, 3, 0.0)
    summary = llm.get_token_usage_summary()
    assert (summary.successful_requests, summary.unpriced_requests, summary.cost_usd) == (3, 3, 0)


async def test_an_llm_s_own_price_wins(sim, process_prices):
    get_runtime().set_prices([f"{MODEL}=100/200"])
    own = priced_llm(sim, price="1/2")
    as_price = priced_llm(sim, price=Price("any-name", input=1, output=2, cached=0.5))
    process = priced_llm(sim)
    answers = [await llm.achat("Tell me about owls") for llm in (own, as_price, process)]
    usage = answers[0].usage
    assert usage.cost_usd == pytest.approx(
        usage.prompt_tokens * 1 * PER_M + usage.completion_tokens * 2 * PER_M
    )
    assert answers[1].usage.cost_usd == usage.cost_usd
    assert answers[2].usage.cost_usd == pytest.approx(100 * usage.cost_usd)
    assert own.price == Price(MODEL, 1, 2)
    assert as_price.price == Price(MODEL, 1, 2, 0.5)
    assert process.price is None
    copy = pickle.loads(pickle.dumps(own))
    assert copy.price == own.price
    assert (await copy.achat("Tell me about owls")).usage == usage


async def test_process_prices_price_every_llm_without_its_own(sim, process_prices):
    model = f"house-model-{uuid.uuid4().hex[:8]}"
    runtime = get_runtime()
    runtime.set_prices([Price(model, input=3, output=15), f"{MODEL}=4/16"])
    mine = await priced_llm(sim, model).achat("Tell me about owls")
    assert mine.usage.priced
    assert mine.usage.cost_usd == pytest.approx(
        mine.usage.prompt_tokens * 3 * PER_M + mine.usage.completion_tokens * 15 * PER_M
    )
    table = await priced_llm(sim).achat("Tell me about owls")
    assert table.usage.cost_usd == pytest.approx(10 * Prices().cost(MODEL, table.usage).usd)
    runtime.set_prices(Prices())  # back to the table alone
    again = await priced_llm(sim).achat("Tell me about owls")
    assert again.usage.cost_usd == Prices().cost(MODEL, again.usage).usd


def test_a_bad_llm_price_is_refused_with_what_to_write():
    with pytest.raises(ConfigurationError, match="IN/OUT"):
        LLM(MODEL, base_url="http://127.0.0.1:9/v1", price="0.4")
    with pytest.raises(ConfigurationError, match="IN/OUT"):
        LLM(MODEL, base_url="http://127.0.0.1:9/v1", price="cheap/free")
    with pytest.raises(ConfigurationError):
        LLM(MODEL, base_url="http://127.0.0.1:9/v1", price=0.4)  # type: ignore[arg-type]


def test_the_answered_model_prices_a_request_name_the_table_lacks():
    usage = Usage.from_wire({"prompt_tokens": 1000, "completion_tokens": 100})
    dated = "gpt-4.1-mini-2025-04-14"
    aliased = CallPricer(f"my-alias-{uuid.uuid4().hex[:8]}")(usage, dated)
    assert aliased.priced
    assert aliased.cost_usd == Prices().cost(MODEL, usage).usd
    # an Azure deployment stays unknown whatever model the answer names
    assert not CallPricer(f"azure/deploy-{uuid.uuid4().hex[:8]}")(usage, "gpt-4o-2024-08-06").priced
    # the request's own name comes first
    assert CallPricer("gpt-4.1")(usage, dated).cost_usd == Prices().cost("gpt-4.1", usage).usd


def test_an_answer_without_usage_stays_unpriced():
    assert CallPricer(MODEL)(NO_USAGE, MODEL) is NO_USAGE
    zero = Usage.from_wire({"prompt_tokens": 0, "completion_tokens": 0})
    assert CallPricer(MODEL)(zero, MODEL).priced  # reported as zero: known, free
