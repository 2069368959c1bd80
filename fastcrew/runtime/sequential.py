"""The sequential process: tasks in order, ``async_execution`` tasks alongside.

- A task's ``context`` (explicit) gets the outputs of the listed tasks. Without one, it gets
  what came before it, as in CrewAI: the outputs since the last join of async tasks (a run
  of sync tasks accumulates; a join starts over with the joined outputs); an async task
  gets the last sync output.
- An async task starts at once (after the async tasks in its own ``context``, if any); the
  next sync task first waits for every pending async task; the crew joins the rest before
  it finishes.
- A ``ConditionalTask`` first joins the pending async tasks, then asks its condition about
  the output just before it; a skipped task gives an empty output, which adds nothing to
  later tasks' context.
- Every task has an owner (one TaskGroup per run): a failure cancels its siblings and is
  raised as itself, never lost, never wrapped in an ExceptionGroup.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._failures import first_failure
from .conditional import ConditionalTask, skipped_output
from .execution import context_text, run_task
from .outputs import TaskOutput
from .run_state import Run

if TYPE_CHECKING:
    from .task import Task

__all__ = ["run_sequential"]

TaskCallback = Callable[[TaskOutput], Any] | None


def _context(outputs: list[Any]) -> str:
    return context_text([o for o in outputs if o.raw])  # a skipped task adds nothing


def _explicit(task: Task, outputs: list[Any], index_of: dict[int, int]) -> str:
    if not task.context:
        return ""
    return _context([outputs[index_of[id(c)]] for c in task.context])


async def _skip(task: Task, previous: TaskOutput | None) -> bool:
    return (
        isinstance(task, ConditionalTask)
        and previous is not None
        and not await task.ashould_execute(previous)
    )


def _crew_callback(task: Task, task_callback: TaskCallback) -> TaskCallback:
    """The crew's ``task_callback`` for ``task``; None when it is the task's own callback
    (called once, as in CrewAI)."""
    if task_callback is not None and task_callback == task.callback:
        return None
    return task_callback


async def run_sequential(
    tasks: list[Task], run: Run, task_callback: TaskCallback = None
) -> list[TaskOutput]:
    """Run ``tasks`` for one run; return their outputs in task order."""
    index_of = {id(t): i for i, t in enumerate(tasks)}
    if not any(t.async_execution for t in tasks):
        outputs: list[TaskOutput] = []
        for i, task in enumerate(tasks):
            if await _skip(task, outputs[-1] if outputs else None):
                outputs.append(skipped_output(run, task))  # type: ignore[arg-type]
                continue
            context = (
                _explicit(task, outputs, index_of) if task.context_given else _context(outputs)
            )
            outputs.append(
                await run_task(run, task, i, context, _crew_callback(task, task_callback))
            )
        return outputs
    return await _with_async(tasks, run, task_callback, index_of)


async def _with_async(
    tasks: list[Task], run: Run, task_callback: TaskCallback, index_of: dict[int, int]
) -> list[TaskOutput]:
    outputs: list[Any] = [None] * len(tasks)
    failures: list[BaseException] = []

    async def owned(i: int, task: Task, context: str, deps: list[asyncio.Task[Any]]) -> Any:
        try:
            if deps:
                await asyncio.wait(deps)
                for dep in deps:
                    dep.result()  # a failed dependency: its error is already recorded
                context = _explicit(task, outputs, index_of)
            out = await run_task(run, task, i, context, _crew_callback(task, task_callback))
        except Exception as exc:
            failures.append(exc)
            raise
        outputs[i] = out
        return out

    pending: dict[int, asyncio.Task[Any]] = {}
    window: list[TaskOutput] = []
    last_sync: TaskOutput | None = None
    try:
        async with asyncio.TaskGroup() as group:
            for i, task in enumerate(tasks):
                if task.async_execution:
                    deps: list[asyncio.Task[Any]] = []
                    if task.context_given:
                        deps = [
                            pending[index_of[id(c)]]
                            for c in task.context or ()
                            if index_of[id(c)] in pending
                        ]
                        context = "" if deps else _explicit(task, outputs, index_of)
                    else:
                        context = _context([last_sync] if last_sync else [])
                    pending[i] = group.create_task(owned(i, task, context, deps))
                    continue
                if pending:
                    joined = list(pending.values())
                    pending.clear()
                    await asyncio.wait(joined)
                    window = [t.result() for t in joined]
                if await _skip(task, window[-1] if window else None):
                    outputs[i] = skipped = skipped_output(run, task)  # type: ignore[arg-type]
                    window.append(skipped)
                    continue
                context = (
                    _explicit(task, outputs, index_of) if task.context_given else _context(window)
                )
                out = await owned(i, task, context, [])
                window.append(out)
                last_sync = out
    except BaseExceptionGroup as group_error:
        raise first_failure(group_error, failures, "task(s)") from None
    return outputs
