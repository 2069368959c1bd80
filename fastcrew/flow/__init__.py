"""Flows: CrewAI's event-driven pipelines, natively async. See :mod:`fastcrew.flow.flow`.

::

    from fastcrew.flow import Flow, and_, listen, or_, persist, router, start
    from fastcrew.flow.persistence import FlowPersistence, SQLiteFlowPersistence
"""

from __future__ import annotations

from ._state import jsonable
from .flow import (
    DEFAULT_MAX_METHOD_CALLS,
    DEFAULT_MAX_STEPS,
    Flow,
    FlowError,
    FlowLimitError,
    FlowState,
    and_,
    listen,
    or_,
    persist,
    router,
    start,
)
from .persistence import FlowPersistence, SQLiteFlowPersistence
from .rows import arun_flow, as_flow_class, flow_output, load_flow

__all__ = [
    "DEFAULT_MAX_METHOD_CALLS",
    "DEFAULT_MAX_STEPS",
    "Flow",
    "FlowError",
    "FlowLimitError",
    "FlowPersistence",
    "FlowState",
    "SQLiteFlowPersistence",
    "and_",
    "arun_flow",
    "as_flow_class",
    "flow_output",
    "jsonable",
    "listen",
    "load_flow",
    "or_",
    "persist",
    "router",
    "start",
]
