"""The plain parts of pricing: token counts, per-token rates, a call's cost, user prices.

Nothing here imports the price table; ``Rates.usd`` is the arithmetic every call runs.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigurationError

__all__ = [
    "UNKNOWN",
    "USD_DECIMALS",
    "ZERO",
    "Cost",
    "Price",
    "Rates",
    "TieredRates",
    "TokenUsage",
    "parse_price",
]

USD_DECIMALS = 10
"""Decimal places of a cost written out (``Cost.rounded``): 1e-10 USD is far below any
token's price (the cheapest are ~1e-8 USD), so rounding only removes float noise."""

_PER_MILLION = 1e-6


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """One call's token counts, in OpenAI's convention.

    ``prompt_tokens`` counts **all** input tokens, the cached ones (``cached_prompt_tokens``,
    read from the prompt cache) and the ones written to it (``cache_write_tokens``,
    Anthropic's ``cache_creation_input_tokens``) included. ``completion_tokens`` counts all
    output tokens, ``reasoning_tokens`` included: reasoning is billed as output, so it is
    never added twice. ``Prices.cost`` reads these attribute names from any object
    (``fastcrew.llm.Usage`` has the first three; a missing one counts as 0).
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @classmethod
    def from_wire(cls, data: Mapping[str, Any] | None) -> TokenUsage:
        """Read a provider's ``usage`` object: OpenAI chat completions (``prompt_tokens``,
        ``prompt_tokens_details.cached_tokens``, ``completion_tokens_details.
        reasoning_tokens``), Anthropic messages (``input_tokens`` *without* the cache,
        ``cache_read_input_tokens``, ``cache_creation_input_tokens``: summed into
        ``prompt_tokens`` here) or OpenAI responses (``input_tokens`` with the cache,
        ``input_tokens_details``, ``output_tokens_details``). Missing fields count as 0."""
        if not data:
            return cls()
        if "prompt_tokens" in data:
            prompt_details = data.get("prompt_tokens_details") or {}
            completion_details = data.get("completion_tokens_details") or {}
            return cls(
                prompt_tokens=_int(data.get("prompt_tokens")),
                completion_tokens=_int(data.get("completion_tokens")),
                cached_prompt_tokens=_int(prompt_details.get("cached_tokens")),
                reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
            )
        if "cache_read_input_tokens" in data or "cache_creation_input_tokens" in data:
            read = _int(data.get("cache_read_input_tokens"))
            write = _int(data.get("cache_creation_input_tokens"))
            return cls(
                prompt_tokens=_int(data.get("input_tokens")) + read + write,
                completion_tokens=_int(data.get("output_tokens")),
                cached_prompt_tokens=read,
                cache_write_tokens=write,
            )
        input_details = data.get("input_tokens_details") or {}
        output_details = data.get("output_tokens_details") or {}
        return cls(
            prompt_tokens=_int(data.get("input_tokens")),
            completion_tokens=_int(data.get("output_tokens")),
            cached_prompt_tokens=_int(input_details.get("cached_tokens")),
            reasoning_tokens=_int(output_details.get("reasoning_tokens")),
        )


def _int(value: Any) -> int:
    return int(value or 0)


@dataclass(frozen=True, slots=True)
class Cost:
    """What one call (or a sum of calls) cost: ``usd`` a float; ``known`` False when some
    call's model had no price (it counted 0)."""

    usd: float
    known: bool = True

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.usd + other.usd, self.known and other.known)

    def rounded(self) -> float:
        """``usd`` to ``USD_DECIMALS`` places, for JSON and reports."""
        return round(self.usd, USD_DECIMALS)


ZERO = Cost(0.0)
"""Nothing spent (a sum's start)."""
UNKNOWN = Cost(0.0, known=False)
"""A call whose model has no price."""


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per token of each kind (``cached``, ``cache_write`` and ``reasoning`` are the
    rates of those tokens, which the ``input`` / ``output`` rates then do not cover) and a
    flat fee per call."""

    input: float
    output: float
    cached: float
    cache_write: float
    reasoning: float
    request: float = 0.0

    def usd(
        self, prompt: int, cached: int, cache_write: int, completion: int, reasoning: int
    ) -> float:
        """The price of one call's tokens (counts as in ``TokenUsage``, already clamped)."""
        return (
            self.request
            + (prompt - cached - cache_write) * self.input
            + cached * self.cached
            + cache_write * self.cache_write
            + (completion - reasoning) * self.output
            + reasoning * self.reasoning
        )

    def scaled(self, factor: float) -> Rates:
        """Every rate times ``factor`` (a batch discount)."""
        return Rates(
            self.input * factor,
            self.output * factor,
            self.cached * factor,
            self.cache_write * factor,
            self.reasoning * factor,
            self.request * factor,
        )


@dataclass(frozen=True, slots=True)
class TieredRates:
    """Rates that change with the call's prompt size, as long-context prices do: all tokens
    of a call whose ``prompt_tokens`` exceeds ``thresholds[i]`` (ascending) are priced at
    ``bands[i + 1]``, else at ``bands[0]``."""

    thresholds: tuple[int, ...]
    bands: tuple[Rates, ...]

    def usd(
        self, prompt: int, cached: int, cache_write: int, completion: int, reasoning: int
    ) -> float:
        """The price of one call's tokens, in the band its prompt size falls in."""
        band = self.bands[bisect_left(self.thresholds, prompt)]
        return band.usd(prompt, cached, cache_write, completion, reasoning)

    def scaled(self, factor: float) -> TieredRates:
        """Every band's rates times ``factor``."""
        return TieredRates(self.thresholds, tuple(b.scaled(factor) for b in self.bands))


@dataclass(frozen=True, slots=True)
class Price:
    """A user's price for a model: USD per million input, output and (optionally) cached
    input tokens. Without ``cached``, cached and cache-write tokens cost ``input``;
    reasoning tokens cost ``output``. These are standard rates: ``batch=True`` halves them."""

    model: str
    input: float
    output: float
    cached: float | None = None

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise ConfigurationError(f"a price needs a model name; {_HOW}")
        for name in ("input", "output", "cached"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ConfigurationError(
                    f"the {name} price of {self.model!r} must be a number ≥ 0 "
                    f"(USD per million tokens), not {value!r}; {_HOW}"
                )

    def rates(self) -> Rates:
        """This price as per-token rates."""
        cached = self.input if self.cached is None else self.cached
        return Rates(
            input=self.input * _PER_MILLION,
            output=self.output * _PER_MILLION,
            cached=cached * _PER_MILLION,
            cache_write=self.input * _PER_MILLION,
            reasoning=self.output * _PER_MILLION,
        )


_HOW = (
    "write MODEL=IN/OUT or MODEL=IN/OUT/CACHED in USD per million tokens, "
    "e.g. --price gpt-4.1-mini=0.4/1.6 or --price gpt-4.1-mini=0.4/1.6/0.1"
)


def parse_price(spec: str) -> Price:
    """``"gpt-4.1-mini=0.4/1.6"`` (or ``MODEL=IN/OUT/CACHED``), USD per million tokens, as
    the ``--price`` flag takes it. Raises ``ConfigurationError`` saying what to write instead."""
    model, eq, amounts = spec.rpartition("=")
    model = model.strip()
    if not eq or not model:
        raise ConfigurationError(f"--price {spec!r} names no model; {_HOW}")
    parts = [p.strip().removeprefix("$") for p in amounts.split("/")]
    if len(parts) not in (2, 3):
        raise ConfigurationError(
            f"--price {spec!r} gives {len(parts)} amount(s), want 2 (IN/OUT) or 3 "
            f"(IN/OUT/CACHED); {_HOW}"
        )
    values: list[float] = []
    for label, part in zip(("IN", "OUT", "CACHED"), parts, strict=False):
        try:
            value = float(part)
        except ValueError:
            raise ConfigurationError(
                f"--price {spec!r}: {label} {part!r} is not a number; {_HOW}"
            ) from None
        if not (math.isfinite(value) and value >= 0):
            raise ConfigurationError(f"--price {spec!r}: {label} must be ≥ 0, not {part!r}; {_HOW}")
        values.append(value)
    return Price(model, values[0], values[1], values[2] if len(values) == 3 else None)
