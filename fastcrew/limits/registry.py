"""One limiter per budget: every LLM call to the same endpoint and key, on one event loop,
passes through the same :class:`Limiter`.

The budget source is made by a factory that a process may replace: the batch worker installs
one that leases slices of the supervisor's global budget; the default is a
:class:`LocalBudget`.

``max_rpm`` caps (:func:`cap_for`) are budgets too. Without a factory each owner object has
its own local cap. With one, a cap is made by the factory under a key derived from the owner
(:func:`cap_key`: type, role or name, rpm), the same in every process that builds the same
template — so the batch's global budget enforces a cap across all workers.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Callable

from .config import RateLimit
from .limiter import Limiter
from .source import BudgetSource, LocalBudget

__all__ = [
    "CAP_PREFIX",
    "BudgetFactory",
    "budget_key",
    "cap_for",
    "cap_key",
    "get_default_rate_limit",
    "is_cap_key",
    "limiter_for",
    "set_budget_factory",
    "set_default_rate_limit",
]

BudgetFactory = Callable[[str, RateLimit, float], BudgetSource]
"""``(budget key, rate limit, now) -> BudgetSource``."""

_default_limit = RateLimit()
_factory: BudgetFactory | None = None
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Limiter]] = (
    weakref.WeakKeyDictionary()
)
_caps: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[int, tuple[weakref.ref[object], Limiter]]
] = weakref.WeakKeyDictionary()
_keyed_caps: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Limiter]] = (
    weakref.WeakKeyDictionary()
)

CAP_PREFIX = "cap:"
"""Budget keys of ``max_rpm`` caps start with this (LLM budget keys are hex digests)."""


def budget_key(base_url: str, api_key: str | None) -> str:
    """A stable key for (endpoint, API key) that reveals neither the key nor URL credentials."""
    return hashlib.sha256(f"{base_url}\n{api_key or ''}".encode()).hexdigest()[:24]


def set_default_rate_limit(limit: RateLimit) -> None:
    """The rate limit for LLMs created without one (default: ``RateLimit()``, 'auto')."""
    global _default_limit
    _default_limit = limit


def get_default_rate_limit() -> RateLimit:
    """The process-wide default :class:`RateLimit`."""
    return _default_limit


def set_budget_factory(factory: BudgetFactory | None) -> None:
    """Replace how budgets are made in this process (None restores :class:`LocalBudget`).

    Limiters already created keep their source.
    """
    global _factory
    _factory = factory


def limiter_for(key: str, limit: RateLimit | None) -> Limiter:
    """The running loop's limiter for ``key``.

    Created on first use; the first explicit ``limit`` for a key wins, LLMs without one share it.
    """
    loop = asyncio.get_running_loop()
    per_loop = _limiters.get(loop)
    if per_loop is None:
        per_loop = _limiters[loop] = {}
    limiter = per_loop.get(key)
    if limiter is None:
        chosen = limit or _default_limit
        limiter = per_loop[key] = Limiter(
            _make_source(key, chosen, loop.time()),
            max_concurrency=chosen.max_concurrency,
            loop=loop,
        )
        limiter.explicit = limit is not None
    elif limit is not None and not limiter.explicit:
        # The first explicit RateLimit for a budget wins over the default.
        limiter.reconfigure(_make_source(key, limit, loop.time()), limit.max_concurrency)
        limiter.explicit = True
    return limiter


def _make_source(key: str, limit: RateLimit, now: float) -> BudgetSource:
    return _factory(key, limit, now) if _factory else LocalBudget(limit, now)


def cap_key(owner: object, rpm: int) -> str:
    """The budget key of ``owner``'s ``max_rpm`` cap: ``cap:<type>:<role or name>:<rpm>``.

    Stable across processes for the same template (an Agent's role, a Crew's name, as
    written, before inputs are rendered), so owners that agree on all three share one cap.
    """
    label = getattr(owner, "role", None) or getattr(owner, "name", None) or ""
    return f"{CAP_PREFIX}{type(owner).__name__}:{label}:{rpm}"


def is_cap_key(key: str) -> bool:
    """Whether a budget key belongs to a ``max_rpm`` cap (not to an LLM endpoint)."""
    return key.startswith(CAP_PREFIX)


def cap_for(owner: object, rpm: int) -> Limiter:
    """A narrower requests-per-minute cap owned by ``owner`` (an Agent's or a Crew's
    ``max_rpm``), shared by every run of that owner on the running loop.

    With a budget factory installed (a batch worker), the cap is the factory's budget for
    :func:`cap_key` — one per key and loop, shared with every process using the same key.
    """
    loop = asyncio.get_running_loop()
    if _factory is not None:
        keyed = _keyed_caps.get(loop)
        if keyed is None:
            keyed = _keyed_caps[loop] = {}
        key = cap_key(owner, rpm)
        cap = keyed.get(key)
        if cap is None:
            source = _factory(key, RateLimit(rpm=rpm, tpm=None), loop.time())
            cap = keyed[key] = Limiter(source, loop=loop)
        return cap
    per_loop = _caps.get(loop)
    if per_loop is None:
        per_loop = _caps[loop] = {}
    ident = id(owner)  # owners (pydantic models) are not hashable; a dead owner's id is reused
    found = per_loop.get(ident)
    if found is not None and found[0]() is owner:
        return found[1]
    cap = Limiter(LocalBudget(RateLimit(rpm=rpm, tpm=None), loop.time()), loop=loop)
    per_loop[ident] = (weakref.ref(owner, lambda _, k=ident, d=per_loop: d.pop(k, None)), cap)
    return cap
