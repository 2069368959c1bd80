"""User prices (``--price``), unknown models, usage reading, and what pricing costs."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import uuid

import pytest

from fastcrew.errors import ConfigurationError
from fastcrew.pricing import UNKNOWN, ZERO, Cost, Price, Prices, TokenUsage, parse_price

USAGE = TokenUsage(
    prompt_tokens=1_000_000,
    completion_tokens=100_000,
    cached_prompt_tokens=200_000,
    cache_write_tokens=100_000,
    reasoning_tokens=40_000,
)


def _fresh_model(stem: str = "no-such-model") -> str:
    """A name no earlier test priced (unknown models are warned about once per process)."""
    return f"{stem}-{uuid.uuid4().hex[:8]}"


# --- parse_price ---------------------------------------------------------------------------


def test_parse_price_reads_in_out_and_optional_cached():
    assert parse_price("gpt-4.1-mini=0.4/1.6") == Price("gpt-4.1-mini", 0.4, 1.6)
    assert parse_price(" azure/my-deploy = 2.5 / 10 / 1.25 ") == Price(
        "azure/my-deploy", 2.5, 10.0, 1.25
    )
    assert parse_price("local=0/0") == Price("local", 0.0, 0.0)
    assert parse_price("m=$1/$2") == Price("m", 1.0, 2.0)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("gpt-4.1-mini", "names no model"),
        ("=0.4/1.6", "names no model"),
        ("gpt-4.1-mini=0.4", "gives 1 amount"),
        ("gpt-4.1-mini=0.4/1.6/0.1/9", "gives 4 amount"),
        ("gpt-4.1-mini=cheap/1.6", "IN 'cheap' is not a number"),
        ("gpt-4.1-mini=0.4/", "OUT '' is not a number"),
        ("gpt-4.1-mini=-1/1.6", "IN must be ≥ 0"),
        ("gpt-4.1-mini=0.4/inf", "OUT must be ≥ 0"),
        ("gpt-4.1-mini=0.4/1.6/nan", "CACHED must be ≥ 0"),
    ],
)
def test_parse_price_errors_say_what_is_wrong_and_what_to_write(spec, says):
    with pytest.raises(ConfigurationError, match="MODEL=IN/OUT") as err:
        parse_price(spec)
    assert says in str(err.value)
    assert "gpt-4.1-mini=0.4/1.6" in str(err.value)  # an example to copy
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    "kwargs", [{"model": " "}, {"input": -0.1}, {"output": float("nan")}, {"cached": -1.0}]
)
def test_a_bad_price_object_is_refused(kwargs):
    values = {"model": "m", "input": 1.0, "output": 2.0, **kwargs}
    with pytest.raises(ConfigurationError):
        Price(**values)


# --- user prices ---------------------------------------------------------------------------


def test_a_user_price_wins_over_the_table():
    table = Prices().cost("gpt-4.1-mini", USAGE).usd
    ours = Prices([parse_price("gpt-4.1-mini=10/20/5")])
    cost = ours.cost("gpt-4.1-mini", USAGE)
    # 700k uncached + 100k cache-write at IN, 200k cached at CACHED, 100k output at OUT
    assert cost == Cost(pytest.approx(0.7 * 10 + 0.1 * 10 + 0.2 * 5 + 0.1 * 20))
    assert cost.usd != table
    assert ours.cost("openai/gpt-4.1-mini-2025-04-14", USAGE) == cost  # prefix and date too
    assert ours.source("gpt-4.1-mini") == "--price gpt-4.1-mini"


def test_without_cached_price_cached_tokens_cost_the_input_price():
    cost = Prices([Price("m", 1.0, 2.0)], table=False).cost("m", USAGE)
    assert cost.usd == pytest.approx(1.0 * 1.0 + 0.1 * 2.0)


def test_a_provider_scoped_price_applies_to_that_provider_only():
    prices = Prices([Price("azure/gpt-4o", 1.0, 1.0)])
    assert prices.cost("azure/gpt-4o", USAGE).usd == pytest.approx(1.1)
    assert prices.cost("gpt-4o", USAGE, provider="azure").usd == pytest.approx(1.1)
    assert prices.cost("openai/gpt-4o", USAGE).usd != pytest.approx(1.1)  # the table's


def test_an_azure_deployment_is_priced_by_its_deployment_name():
    prices = Prices([parse_price("my-deploy=2/8")])
    assert prices.cost("azure/my-deploy", USAGE).usd == pytest.approx(2 * 1.0 + 8 * 0.1)
    assert prices.cost("my-deploy", USAGE, provider="azure").known


def test_user_price_names_are_case_insensitive():
    prices = Prices([Price("My-Model", 1.0, 1.0)], table=False)
    assert prices.cost("my-model", USAGE).known
    assert prices.cost("MY-MODEL", USAGE).known


def test_batch_halves_a_user_price():
    prices = Prices([Price("m", 3.0, 7.0, 1.0)], table=False)
    assert prices.cost("m", USAGE, batch=True).usd == pytest.approx(prices.cost("m", USAGE).usd / 2)


# --- unknown models ------------------------------------------------------------------------


def test_an_unknown_model_costs_0_and_is_reported_once_per_process(caplog):
    model = _fresh_model()
    caplog.set_level(logging.WARNING, logger="fastcrew.pricing")
    first, second = Prices(), Prices()
    costs = [p.cost(model, USAGE) for p in (first, second) for _ in range(500)]
    assert set(costs) == {UNKNOWN}
    assert Cost(0.0, known=False) == UNKNOWN
    warnings = [r for r in caplog.records if r.name == "fastcrew.pricing"]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert repr(model) in message
    assert f"--price '{model}=IN/OUT'" in message


def test_each_unknown_model_is_reported_once(caplog):
    a, b = _fresh_model(), _fresh_model()
    caplog.set_level(logging.WARNING, logger="fastcrew.pricing")
    prices = Prices()
    for _ in range(10):
        prices.cost(a, USAGE)
        prices.cost(f"azure/{b}", USAGE)
    named = sorted(r.getMessage().split("'")[1] for r in caplog.records)
    assert named == sorted([a, f"azure/{b}"])


def test_asking_for_the_source_of_an_unknown_model_does_not_use_up_its_warning(caplog):
    model = _fresh_model()
    caplog.set_level(logging.WARNING, logger="fastcrew.pricing")
    prices = Prices()
    assert prices.source(model) is None
    assert caplog.records == []
    prices.cost(model, USAGE)
    assert len(caplog.records) == 1


def test_costs_add_up_and_an_unknown_call_marks_the_sum_unknown():
    a, b = Cost(0.25), Cost(0.5)
    assert ZERO + a + b == Cost(0.75)
    assert (a + UNKNOWN).known is False
    assert Cost(0.1 + 0.2).rounded() == 0.3
    assert Cost(1.23456789012345e-3).rounded() == 0.0012345679


# --- usage ---------------------------------------------------------------------------------


def test_token_usage_reads_openai_chat_usage():
    wire = {
        "prompt_tokens": 1200,
        "completion_tokens": 300,
        "total_tokens": 1500,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 256},
    }
    assert TokenUsage.from_wire(wire) == TokenUsage(1200, 300, 1024, 0, 256)
    assert TokenUsage.from_wire({"prompt_tokens": 5, "completion_tokens": None}) == TokenUsage(5)
    assert TokenUsage.from_wire(None) == TokenUsage()


def test_token_usage_adds_anthropic_cache_tokens_to_the_prompt():
    wire = {
        "input_tokens": 50,
        "cache_read_input_tokens": 2000,
        "cache_creation_input_tokens": 300,
        "output_tokens": 80,
    }
    usage = TokenUsage.from_wire(wire)
    assert usage == TokenUsage(2350, 80, cached_prompt_tokens=2000, cache_write_tokens=300)


def test_token_usage_reads_openai_responses_usage():
    wire = {
        "input_tokens": 900,
        "input_tokens_details": {"cached_tokens": 512},
        "output_tokens": 100,
        "output_tokens_details": {"reasoning_tokens": 60},
    }
    assert TokenUsage.from_wire(wire) == TokenUsage(900, 100, 512, 0, 60)


def test_any_object_with_the_usage_attribute_names_is_priced():
    class LlmUsage:  # fastcrew.llm.Usage's shape: no cache-write or reasoning counts
        __slots__ = ("cached_prompt_tokens", "completion_tokens", "prompt_tokens")

        def __init__(self) -> None:
            self.prompt_tokens, self.completion_tokens, self.cached_prompt_tokens = 1000, 10, 0

    prices = Prices([Price("m", 1.0, 1.0)], table=False)
    assert prices.cost("m", LlmUsage()) == prices.cost("m", TokenUsage(1000, 10))


# --- cost of pricing -----------------------------------------------------------------------


def test_pricing_a_call_stays_cheap_after_the_first():
    prices = Prices()
    prices.cost("gpt-4.1-mini", USAGE)
    n = 20_000
    start = time.process_time()
    for _ in range(n):
        prices.cost("gpt-4.1-mini", USAGE)
    per_call = (time.process_time() - start) / n
    assert per_call < 20e-6  # ~1.6 µs measured; genai-prices' own calc_price is ~70 µs


def test_importing_pricing_loads_no_table_and_pricing_needs_no_network():
    code = (
        "import json, socket, sys\n"
        "def offline(*a, **k): raise OSError('pricing used the network')\n"
        "socket.socket.connect = offline\n"
        "socket.create_connection = offline\n"
        "socket.getaddrinfo = offline\n"
        "import fastcrew.pricing as p\n"
        "loaded = 'genai_prices' in sys.modules\n"
        "cost = p.Prices().cost('gpt-4.1-mini', p.TokenUsage(1000, 100))\n"
        "print(json.dumps([loaded, 'genai_prices' in sys.modules, cost.known, cost.usd > 0]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [False, True, True, True]
