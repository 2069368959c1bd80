"""A call's cost, set on its :class:`Usage` once, when the client parses the answer.

The price is the LLM's own (``LLM(price=...)``) if it has one, else the process runtime's
(``get_runtime().prices``: the genai-prices table and the user's overrides). The model priced
is the one the request named; where that has no price, the one the answer names (a dated
snapshot such as ``gpt-4.1-mini-2025-04-14``). See docs/cost.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigurationError
from ..process_runtime import get_runtime
from .types import NO_USAGE, Usage, set_cost

if TYPE_CHECKING:
    from ..pricing import Price, Prices

__all__ = ["CallPricer", "own_price"]

_Key = tuple[str, "str | None"]
_memo: tuple[object, dict[_Key, str]] = (None, {})
"""The model name each (requested, answered) pair is priced under, for the last
``Prices`` used (a process has one, until ``set_prices``)."""


def own_price(model: str, price: Price | str) -> Price:
    """An LLM's own price for ``model``: a ``Price`` (its model name is replaced by
    ``model``), or ``"IN/OUT"`` / ``"IN/OUT/CACHED"`` in USD per million tokens."""
    from ..pricing import Price, parse_price

    if isinstance(price, Price):
        return Price(model, price.input, price.output, price.cached)
    if not isinstance(price, str):
        raise ConfigurationError(
            f"LLM price must be a fastcrew.pricing.Price or 'IN/OUT[/CACHED]', not {price!r}"
        )
    amounts = price.rpartition("=")[2]
    try:
        return parse_price(f"{model}={amounts}")
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"LLM price {price!r}: give 'IN/OUT' or 'IN/OUT/CACHED' in USD per million "
            f"tokens, e.g. price='0.4/1.6' ({exc})"
        ) from None


class CallPricer:
    """Prices one LLM object's answers: ``pricer(usage, answered_model)`` sets the cost of
    ``usage`` — fresh from ``Usage.from_wire``, not yet shared — and returns it. Usage the
    provider did not report (``NO_USAGE``) stays unpriced."""

    __slots__ = ("_own", "_prefix", "model", "price")

    def __init__(self, model: str, price: Price | str | None = None) -> None:
        """``model``: the LLM's model string as configured (``openai/gpt-4.1-mini``,
        ``gpt-4.1-mini``, ``azure/my-deploy``): its prefix, if any, names the provider."""
        self.model = model
        head, slash, rest = model.partition("/")
        self._prefix = head + "/" if slash and head and rest else ""
        self.price: Price | None = None if price is None else own_price(model, price)
        self._own: Prices | None = None
        if self.price is not None:
            from ..pricing import Prices

            self._own = Prices([self.price], table=False)

    def __call__(self, usage: Usage, answered: str | None, batch: bool = False) -> Usage:
        """``batch``: priced at batch-API rates."""
        if usage is NO_USAGE:
            return usage
        own = self._own
        if own is not None:
            cost = own.cost(self.model, usage, batch=batch)
        else:
            prices = get_runtime().prices
            cost = prices.cost(self._name(prices, answered), usage, batch=batch)
        set_cost(usage, cost.usd, cost.known)
        return usage

    def _name(self, prices: Prices, answered: str | None) -> str:
        global _memo
        owner, names = _memo
        if owner is not prices:
            names = {}
            _memo = (prices, names)
        key = (self.model, answered)
        name = names.get(key)
        if name is None:
            name = names[key] = self._choose(prices, answered)
        return name

    def _choose(self, prices: Prices, answered: str | None) -> str:
        model = self.model
        if not answered or prices.source(model):
            return model
        if self._prefix and not answered.startswith(self._prefix):
            answered = self._prefix + answered  # the request's provider: azure/ stays azure/
        if answered != model and prices.source(answered):
            return answered
        return model  # neither has a price: priced as the request's model (said once)
