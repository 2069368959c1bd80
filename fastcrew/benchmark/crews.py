"""The crews a bench runs: the default single-task crew, its ``--tools`` variant, or
``--crew``, pointed at the bench's endpoint. ``bench_crew`` is the factory the batch workers
import (it reads the environment the cell process sets)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ..llm import LLM
from ..process_runtime import get_runtime
from ..runtime import Agent, Crew, Task
from ..tools import tool
from .prompts import AGENT, MODEL, TASK, TOOLS_TASK
from .tooling import TOOL_NAME, ToolGauge, lookup_function

__all__ = [
    "BASE_URL_ENV",
    "CREW_ENV",
    "TOOL_MS_ENV",
    "bench_crew",
    "build_crew",
    "one_task_crew",
    "tool_crew",
]

BASE_URL_ENV = "FASTCREW_BENCH_WORKER_BASE_URL"
CREW_ENV = "FASTCREW_BENCH_WORKER_CREW"
TOOL_MS_ENV = "FASTCREW_BENCH_WORKER_TOOL_MS"
FACTORY = "fastcrew.benchmark.crews:bench_crew"
"""The crew spec handed to ``run_batch`` for the ``batch`` method."""


def one_task_crew(
    base_url: str | None = None,
    *,
    tools: Sequence[Any] = (),
    task: Mapping[str, Any] = TASK,
    **crew_options: Any,
) -> Crew:
    """One agent (with ``tools``), one task (``task``: its description and expected output),
    one ``{topic}`` placeholder (``base_url`` None: from the env)."""
    llm = LLM(MODEL, base_url=base_url)
    analyst = Agent(**AGENT, llm=llm, tools=list(tools))
    return Crew(agents=[analyst], tasks=[Task(**task, agent=analyst)], **crew_options)


def tool_crew(base_url: str | None, tool_ms: float, gauge: ToolGauge | None = None) -> Crew:
    """The same crew whose agent has one async tool awaiting ``tool_ms`` ms."""
    notes = tool(TOOL_NAME)(lookup_function(tool_ms, gauge or ToolGauge()))
    return one_task_crew(base_url, tools=[notes], task=TOOLS_TASK)


def build_crew(
    spec: str | None, base_url: str, *, tool_ms: float | None = None, gauge: ToolGauge | None = None
) -> Crew:
    """``--crew`` (``path.py:name`` / ``module:name``), the ``--tools`` crew (``tool_ms``)
    or the default crew, at ``base_url``."""
    if tool_ms is not None:
        return tool_crew(base_url, tool_ms, gauge)
    if not spec:
        return one_task_crew(base_url)
    from ..batch.crewspec import load_crew

    with get_runtime().redirecting(base_url):  # the user's LLMs talk to the bench's server
        return load_crew(spec)


def bench_crew() -> Crew:
    """The batch workers' factory: the cell's crew at its endpoint (from the env)."""
    tool_ms = os.environ.get(TOOL_MS_ENV)
    return build_crew(
        os.environ.get(CREW_ENV) or None,
        os.environ[BASE_URL_ENV],
        tool_ms=float(tool_ms) if tool_ms else None,
    )
