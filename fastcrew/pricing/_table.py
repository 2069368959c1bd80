"""The price table: pydantic's ``genai-prices``, its bundled snapshot only (never fetched).

The one module that imports ``genai_prices`` (~0.2 s with its data: loaded on the first
table lookup, not by ``import fastcrew.pricing``). A model is looked up once; its prices
are turned into per-token float ``Rates`` by asking the library itself for the price of
one token of each kind (prices are linear in each count within a long-context band), so
every later call is a few float multiplications instead of the library's Decimal path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from genai_prices import Usage
from genai_prices.data_snapshot import find_provider_by_id, get_snapshot
from genai_prices.types import ModelInfo, ModelPrice, Provider, TieredPrices

from ._price import Rates, TieredRates

__all__ = ["BATCH", "TableEntry", "data_version", "lookup"]

BATCH = {"processing": "batch"}
"""The table's price context for batch-API calls."""
_BATCH_DISCOUNT = 0.5
"""OpenAI's and Anthropic's batch APIs (and Google's, Mistral's, Groq's...) halve every
rate; used for a model whose table entry has no batch prices of its own."""


@dataclass(frozen=True, slots=True)
class TableEntry:
    """A model found in the table: its standard and batch rates, and what it matched."""

    standard: Rates | TieredRates
    batch: Rates | TieredRates
    provider_id: str
    model_id: str
    batch_in_table: bool
    """The table has batch prices for this model (else ``batch`` is half of ``standard``)."""


def data_version() -> str:
    """The installed ``genai-prices`` release, whose bundled snapshot prices are read."""
    from genai_prices import __version__

    return __version__


def lookup(provider: str | None, model: str) -> TableEntry | None:
    """The table's prices for ``model`` (``provider``: genai-prices' provider id, or None to
    match the provider from the model name), priced as of now; None when not in the table."""
    snapshot = get_snapshot()
    prov: Provider | None = None
    if provider is not None:
        prov = find_provider_by_id(snapshot.providers, provider)
        if prov is None:
            return None
    try:
        if prov is None:
            prov, info = snapshot.find_provider_model(model, None, None, None)
        else:
            found = prov.find_model(model, all_providers=snapshot.providers)
            if found is None:
                return None
            info = found
    except LookupError:
        return None
    now = datetime.now(tz=UTC)
    standard = _rates(info, prov, now, None)
    in_table = _has_batch_prices(info, prov, now)
    batch = _rates(info, prov, now, BATCH) if in_table else standard.scaled(_BATCH_DISCOUNT)
    return TableEntry(standard, batch, prov.id, info.id, in_table)


def _has_batch_prices(info: ModelInfo, prov: Provider, now: datetime) -> bool:
    if not any(info is m for m in prov.models):  # a fallback provider's model: no variants
        return False
    return any(
        v.when == BATCH
        and (v.constraint is None or v.constraint.active(now))
        and any(price is not None for price in vars(v.prices).values())  # not an empty entry
        for v in info.price_variants or ()
    )


def _rates(
    info: ModelInfo, prov: Provider, now: datetime, context: dict[str, str] | None
) -> Rates | TieredRates:
    """The model's per-token rates under ``context``, one ``Rates`` per prompt-size band."""
    prices = (info.get_prices(now), info.get_prices(now, context))
    thresholds = sorted({t for price in prices for t in _tiers(price)})
    # a prompt of that many tokens is inside each band (the first band: 0 to thresholds[0])
    probes = (1 if not thresholds or thresholds[0] >= 1 else 0, *(t + 1 for t in thresholds))
    bands = tuple(_band(info, prov, now, context, prompt) for prompt in probes)
    if not thresholds:
        return bands[0]
    return TieredRates(tuple(thresholds), bands)


def _tiers(price: ModelPrice) -> list[int]:
    return [
        tier.start
        for value in vars(price).values()
        if isinstance(value, TieredPrices)
        for tier in value.tiers
    ]


def _band(
    info: ModelInfo,
    prov: Provider,
    now: datetime,
    context: dict[str, str] | None,
    prompt: int,
) -> Rates:
    """Rates for calls of ``prompt`` input tokens (a band's prices are the same for all)."""

    def price(**counts: int) -> Decimal:
        calc = info.calc_price(
            Usage(**counts), prov, genai_request_timestamp=now, price_context=context
        )
        return calc.total_price

    base = price(input_tokens=prompt)
    request = price()  # a flat fee per call, if any

    def per_input(**extra: int) -> float:
        if not prompt:
            return 0.0
        return float((price(input_tokens=prompt, **extra) - request) / prompt)

    return Rates(
        input=per_input(),
        output=float(price(input_tokens=prompt, output_tokens=1) - base),
        cached=per_input(cache_read_tokens=prompt),
        cache_write=per_input(cache_write_tokens=prompt),
        reasoning=float(
            price(input_tokens=prompt, output_tokens=1, output_reasoning_tokens=1) - base
        ),
        request=float(request),
    )
