"""What LLM calls cost: ``Prices(...).cost(model, usage)`` from the user's ``--price`` specs
and genai-prices' bundled table (offline). See docs/cost.md.

Importing this package loads no price data: the table (~0.2 s) loads on the first call
that needs it.
"""

from __future__ import annotations

from ._price import (
    UNKNOWN,
    USD_DECIMALS,
    ZERO,
    Cost,
    Price,
    TokenUsage,
    parse_price,
)
from .prices import NO_TABLE_PROVIDERS, Prices

__all__ = [
    "NO_TABLE_PROVIDERS",
    "UNKNOWN",
    "USD_DECIMALS",
    "ZERO",
    "Cost",
    "Price",
    "Prices",
    "TokenUsage",
    "parse_price",
]
