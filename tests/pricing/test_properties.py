"""Properties: a cost is never negative, and never falls when any kind of token grows."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fastcrew.pricing import Price, Prices, TokenUsage

PRICES = Prices([Price("user-model", 0.3, 1.2, 0.03), Price("free-model", 0.0, 0.0)])
MODELS = [
    "user-model",
    "free-model",
    "no-such-model-for-properties",
    "gpt-4.1-mini",
    "o3",
    "claude-haiku-4-5",
    "claude-sonnet-4-5",  # long-context tiers above 200k prompt tokens
    "gemini-2.5-pro",  # ditto
]
KINDS = ("uncached", "cached", "cache_write", "output", "reasoning")

counts = st.integers(min_value=0, max_value=2_000_000)


def _usage(uncached: int, cached: int, cache_write: int, output: int, reasoning: int) -> TokenUsage:
    """Disjoint counts of each kind, in OpenAI's convention (prompt and completion totals)."""
    return TokenUsage(
        prompt_tokens=uncached + cached + cache_write,
        completion_tokens=output + reasoning,
        cached_prompt_tokens=cached,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
    )


@settings(max_examples=300, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    batch=st.booleans(),
    base=st.tuples(counts, counts, counts, counts, counts),
    kind=st.sampled_from(range(len(KINDS))),
    more=st.integers(min_value=1, max_value=500_000),
)
def test_cost_never_falls_when_a_token_count_grows(model, batch, base, kind, more):
    grown = list(base)
    grown[kind] += more
    before = PRICES.cost(model, _usage(*base), batch=batch).usd
    after = PRICES.cost(model, _usage(*grown), batch=batch).usd
    assert 0 <= before <= after


@settings(max_examples=300, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    batch=st.booleans(),
    raw=st.tuples(*[st.integers(min_value=-(10**6), max_value=10**7)] * 5),
)
def test_cost_is_never_negative_even_for_inconsistent_counts(model, batch, raw):
    # cached above the prompt, reasoning above the completion, negative counts: clamped
    usage = TokenUsage(*raw)
    assert PRICES.cost(model, usage, batch=batch).usd >= 0


@settings(max_examples=200, deadline=None)
@given(
    model=st.sampled_from(MODELS),
    prompt=counts,
    completion=counts,
    more=st.integers(min_value=1, max_value=500_000),
)
def test_a_bigger_prompt_or_completion_costs_no_less(model, prompt, completion, more):
    cost = PRICES.cost(model, TokenUsage(prompt, completion)).usd
    assert PRICES.cost(model, TokenUsage(prompt + more, completion)).usd >= cost
    assert PRICES.cost(model, TokenUsage(prompt, completion + more)).usd >= cost
