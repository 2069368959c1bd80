"""The fastcrew side of each method: run ``n`` crews once, the way a user would write it."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Callable
from typing import Any

from .._loop import run
from ..runtime import Crew
from .crews import BASE_URL_ENV, CREW_ENV, FACTORY, TOOL_MS_ENV

__all__ = ["BatchUnavailable", "run_method"]

Inputs = list[dict[str, Any]]


class BatchUnavailable(RuntimeError):
    """``fastcrew.run_batch`` cannot be imported or used in this checkout."""


def _kickoff_for_each(crew: Crew, inputs: Inputs, **_: Any) -> int:
    return len(crew.kickoff_for_each(inputs))


def _kickoff_async(crew: Crew, inputs: Inputs, **_: Any) -> int:
    async def main() -> int:  # CrewAI's documented pattern: threads of the default executor
        return len(await asyncio.gather(*(crew.kickoff_async(i) for i in inputs)))

    return run(main())


def _akickoff_for_each(crew: Crew, inputs: Inputs, *, concurrency: int, **_: Any) -> int:
    return len(run(crew.akickoff_for_each(inputs, max_concurrency=concurrency)))


def _akickoff(crew: Crew, inputs: Inputs, *, concurrency: int, **_: Any) -> int:
    async def main() -> int:  # the hand-rolled pattern: every task up front, a semaphore
        gate = asyncio.Semaphore(concurrency)

        async def one(item: dict[str, Any]) -> Any:
            async with gate:
                return await crew.akickoff(item)

        return len(await asyncio.gather(*(one(i) for i in inputs)))

    return run(main())


def _batch(
    crew: Crew,
    inputs: Inputs,
    *,
    concurrency: int,
    workers: int,
    base_url: str,
    crew_spec: str | None,
    rpm: int | None,
    timeout: float | None,
    tool_ms: float | None = None,
    **_: Any,
) -> int:
    try:
        from ..batch import run_batch
    except ImportError as exc:
        raise BatchUnavailable(f"batch not available: {exc}") from None
    os.environ[BASE_URL_ENV] = base_url
    os.environ[CREW_ENV] = crew_spec or ""
    os.environ[TOOL_MS_ENV] = "" if tool_ms is None else str(tool_ms)
    with tempfile.TemporaryDirectory(prefix="fastcrew-bench-") as tmp:
        path = os.path.join(tmp, "inputs.jsonl")
        with open(path, "w") as f:
            f.writelines(json.dumps(row) + "\n" for row in inputs)
        result = run_batch(
            path,
            crew=FACTORY,
            output=os.path.join(tmp, "results.jsonl"),
            workers=workers,
            concurrency=concurrency,
            rpm=rpm,
            timeout=timeout,
            progress=False,
            quiet=True,
        )
    if not result.complete or result.rows_error:
        raise RuntimeError(
            f"batch finished {result.status} with {result.rows_error} error rows "
            f"({result.rows_ok} ok)"
        )
    return result.rows_ok


RUNNERS: dict[str, Callable[..., int]] = {
    "kickoff_for_each": _kickoff_for_each,
    "kickoff_async": _kickoff_async,
    "akickoff_for_each": _akickoff_for_each,
    "akickoff": _akickoff,
    "batch": _batch,
}


def run_method(method: str, crew: Crew, inputs: Inputs, **options: Any) -> int:
    """Run ``method`` over ``inputs``; return how many crews finished."""
    return RUNNERS[method](crew, inputs, **options)
