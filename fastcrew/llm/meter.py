"""Usage metering, the one way LLM calls are counted: every successful call adds its usage
to the process total (``Runtime.usage``) and to the meter of the context it runs in, if any.
A crew run's ``UsageMetrics`` and a batch row's ``usage`` are read from such meters.

A crew run counts its own usage (``Run``); a flow row calls LLMs from anywhere (crews inside
methods, direct ``llm.acall``), so the batch worker wraps each flow row in :func:`metered`
and reads the total. The context variable is copied into the tasks and threads the row
starts, so calls made there are counted too (the counters are plain ints: calls finishing in
the same instant on two threads could, in theory, lose an update). Cost when unused: one
``ContextVar.get`` per call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from ..core import UsageMeter, get_runtime
from .types import ChatResponse

__all__ = ["UsageMeter", "metered", "record_usage"]


_meter: ContextVar[UsageMeter | None] = ContextVar("fastcrew_usage_meter", default=None)


@contextmanager
def metered() -> Iterator[UsageMeter]:
    """Count the LLM calls made in this context (and the tasks it starts) until it exits."""
    meter = UsageMeter()
    token = _meter.set(meter)
    try:
        yield meter
    finally:
        _meter.reset(token)


def record_usage(resp: ChatResponse) -> None:
    """Count a successful call (called by the LLM client, once per call): in the process
    total (``Runtime.usage``) and in the current context's meter, if there is one."""
    get_runtime().usage.add(resp)
    meter = _meter.get()
    if meter is not None:
        meter.add(resp)
