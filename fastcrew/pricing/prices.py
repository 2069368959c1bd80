"""``Prices``: a call's cost from its model and usage — the user's prices first, then the table.

A model is resolved once per ``(provider, model)`` and kept: every later call is a dict
lookup and a few float multiplications (~1 µs). A model with no price costs 0, and the
process says so once per model (a ``logging`` warning naming the ``--price`` to give).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._price import UNKNOWN, Cost, Price, Rates, TieredRates

__all__ = ["NO_TABLE_PROVIDERS", "Prices", "unpriced_models"]

log = logging.getLogger("fastcrew.pricing")

NO_TABLE_PROVIDERS = frozenset({"azure", "ollama", "ollama_chat", "hosted_vllm", "lm_studio"})
"""Providers whose model names the table cannot price: an Azure deployment's name is the
user's own, and local servers run whatever they were given. Priced only by ``--price``."""

_DATE = re.compile(r"-(?:20\d\d-\d\d-\d\d|20\d{6})$")
"""A provider's snapshot date at the end of a model name (``-2025-04-14``, ``-20250929``)."""

_warned: set[str] = set()
_warned_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Entry:
    standard: Rates | TieredRates
    batch: Rates | TieredRates
    source: str


class Prices:
    """The prices of a process's calls: ``prices`` (the user's, e.g. from ``--price``) win
    over the table (genai-prices' bundled snapshot, read offline).

    A user price named ``provider/model`` applies to that provider only; a bare ``model``
    to any provider's model of that name, dated snapshots (``gpt-4.1-mini-2025-04-14``)
    included. Thread-safe: resolving the same model twice at once only does it twice.
    """

    def __init__(self, prices: Iterable[Price] = (), *, table: bool = True) -> None:
        """``table=False`` prices only what ``prices`` names (tests, air-gapped audits)."""
        self._user: dict[str, Price] = {p.model.strip().lower(): p for p in prices}
        self._table = table
        self._cache: dict[tuple[str | None, str], _Entry | None] = {}

    def cost(
        self, model: str, usage: Any, *, provider: str | None = None, batch: bool = False
    ) -> Cost:
        """What a call to ``model`` (as configured, ``openai/gpt-4.1-mini``, or as answered,
        ``gpt-4.1-mini-2025-04-14``) cost for ``usage`` (a ``TokenUsage`` or any object with
        its attribute names). ``provider``: fastcrew's provider name, if the model string
        has none. ``batch``: priced at batch-API rates."""
        key = (provider, model)
        try:
            entry = self._cache[key]
        except KeyError:
            entry = self._cache[key] = self._resolve(provider, model)
        if entry is None:
            return UNKNOWN
        prompt = max(usage.prompt_tokens, 0)
        cached = min(max(usage.cached_prompt_tokens, 0), prompt)
        write = min(max(getattr(usage, "cache_write_tokens", 0), 0), prompt - cached)
        completion = max(usage.completion_tokens, 0)
        reasoning = min(max(getattr(usage, "reasoning_tokens", 0), 0), completion)
        rates = entry.batch if batch else entry.standard
        return Cost(rates.usd(prompt, cached, write, completion, reasoning))

    def source(self, model: str, *, provider: str | None = None) -> str | None:
        """Where ``model``'s price comes from (``"--price gpt-4.1-mini"``,
        ``"genai-prices 0.2.5: openai/gpt-4.1-mini"``), or None when it has none."""
        key = (provider, model)
        entry = self._cache[key] if key in self._cache else self._resolve(*key, warn=False)
        return None if entry is None else entry.source

    def _resolve(self, provider: str | None, model: str, *, warn: bool = True) -> _Entry | None:
        prov, bare = _split(provider, model)
        name = f"{prov}/{bare}" if prov else bare
        for candidate in _candidates(prov, model, bare):
            price = self._user.get(candidate)
            if price is not None:
                rates = price.rates()
                return _Entry(rates, rates.scaled(0.5), f"--price {price.model}")
        entry = self._from_table(prov, bare, model, explicit=provider is not None)
        if entry is None and warn:
            _warn_unknown(name)
        return entry

    def _from_table(
        self, prov: str | None, bare: str, model: str, *, explicit: bool
    ) -> _Entry | None:
        if not self._table or (prov is not None and prov.lower() in NO_TABLE_PROVIDERS):
            return None
        from . import _table  # the library and its data load on the first table lookup

        try:
            found = _table.lookup(prov, bare)
            if found is None and prov is not None and not explicit:
                found = _table.lookup(None, model)  # "org/model" whose org is no provider
        except ValueError as exc:  # a table entry this usage cannot be priced with
            log.debug("genai-prices cannot price %r: %s", model, exc)
            return None
        if found is None:
            return None
        where = f"genai-prices {_table.data_version()}: {found.provider_id}/{found.model_id}"
        return _Entry(found.standard, found.batch, where)


def _split(provider: str | None, model: str) -> tuple[str | None, str]:
    """``(provider, model name)``: the explicit provider, else the model string's prefix."""
    model = model.strip()
    if provider:
        prefix = provider.strip().lower() + "/"
        if model.lower().startswith(prefix):
            model = model[len(prefix) :]
        return provider.strip().lower(), model
    head, slash, rest = model.partition("/")
    if slash and head and rest:
        return head.lower(), rest
    return None, model


def _candidates(provider: str | None, model: str, bare: str) -> Iterable[str]:
    """The names a user price may be given under, most specific first."""
    names = [f"{provider}/{bare}"] if provider else []
    names += [model, bare]
    names = [n.strip().lower() for n in names]
    undated = [_DATE.sub("", n) for n in names]
    return dict.fromkeys([*names, *undated])


def unpriced_models() -> frozenset[str]:
    """The models this process found no price for so far (each was warned about once)."""
    with _warned_lock:
        return frozenset(_warned)


def _warn_unknown(name: str) -> None:
    with _warned_lock:
        if name in _warned:
            return
        _warned.add(name)
    log.warning(
        "no price known for model %r: its calls count $0 in the cost. Give one with "
        "--price '%s=IN/OUT' (USD per million input/output tokens; add /CACHED for cached "
        "input), or Prices([Price(%r, input=..., output=...)]) in Python.",
        name,
        name,
        name,
    )
