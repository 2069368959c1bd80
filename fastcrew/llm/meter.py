"""Usage metering, the one way LLM calls are counted: every successful call adds its usage
to the process total (``Runtime.usage``) and to the meter of the context it runs in, if any.
A crew run's ``UsageMetrics`` and a batch row's ``usage`` are read from such meters.

A crew run counts its own usage (``Run``); a flow row calls LLMs from anywhere (crews inside
methods, direct ``llm.achat`` / ``llm.acall``), so the batch worker wraps each flow row in
:func:`metered` and reads the total. The context variable is copied into the tasks and
threads the row starts, so calls made there are counted too (the counters are plain ints:
calls finishing in the same instant on two threads could, in theory, lose an update). Cost
when unused: one ``ContextVar.get`` per call.

Meters nest: a meter opened inside another (a flow's ``usage_metrics`` inside a batch row's
meter, a flow kicked off inside another flow's method) counts its calls, and every meter
around it counts them too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ..process_runtime import UsageMeter, get_runtime
from .types import ChatResponse
from .usage import UsageMetrics

__all__ = ["UsageMeter", "metered", "metrics_of", "record_retries", "record_usage"]


_meters: ContextVar[tuple[UsageMeter, ...]] = ContextVar("fastcrew_usage_meters", default=())


@contextmanager
def metered() -> Iterator[UsageMeter]:
    """Count the LLM calls made in this context (and the tasks it starts) until it exits;
    the meters already open here count them too."""
    meter = UsageMeter()
    token = _meters.set((*_meters.get(), meter))
    try:
        yield meter
    finally:
        _meters.reset(token)


def record_usage(resp: ChatResponse) -> None:
    """Count a successful call (called by the LLM client, once per call): in the process
    total (``Runtime.usage``) and in every meter open in the current context."""
    get_runtime().usage.add(resp)
    for meter in _meters.get():
        meter.add(resp)


def metrics_of(meter: UsageMeter) -> UsageMetrics:
    """A meter's totals so far as CrewAI's ``UsageMetrics`` (a new object each time)."""
    return UsageMetrics(
        total_tokens=meter.total_tokens,
        prompt_tokens=meter.prompt_tokens,
        cached_prompt_tokens=meter.cached_prompt_tokens,
        completion_tokens=meter.completion_tokens,
        successful_requests=meter.requests,
        retries=meter.retries,
        cost_usd=meter.cost_usd,
        unpriced_requests=meter.unpriced_requests,
        cache_hits=meter.cache_hits,
        cache_misses=meter.cache_misses,
        saved_usd=meter.saved_usd,
    )


def record_retries(retries: int) -> None:
    """Count the retries of a call that failed (a successful call's come with its
    response): in the process total and in every meter open in the current context."""
    if retries <= 0:
        return
    get_runtime().usage.retries += retries
    for meter in _meters.get():
        meter.retries += retries
