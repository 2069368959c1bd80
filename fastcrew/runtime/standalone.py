"""One task without a crew: ``Task.execute_sync`` / ``execute_async`` / ``aexecute_sync`` and
``Agent.execute_task`` / ``aexecute_task``, as in CrewAI.

The task runs like a one-task crew run: its own :class:`Run` (usage, tool cache), no inputs
(placeholders stay as written, as in CrewAI), the agent's ``max_execution_time`` and RPM cap.
Sync calls run on the process runtime's home loop.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import threading
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ConfigurationError
from ..process_runtime import get_runtime
from ..tools.adapters import ToolAdapters
from .execution import run_task
from .outputs import TaskOutput
from .run_state import Run

if TYPE_CHECKING:
    from .agent import Agent
    from .task import Task

__all__ = ["aexecute", "agent_answer", "in_thread", "run_sync"]

T = TypeVar("T")


def _prepared(task: Task, agent: Agent | None, tools: Sequence[Any] | None) -> tuple[Task, Agent]:
    """The task as it will run (``tools`` replacing its own) and the agent that runs it."""
    doer = agent or task.agent
    if doer is None:
        raise ConfigurationError(
            f"the task {task.description[:60]!r} has no agent assigned, so it cannot run on its "
            "own: pass execute_sync(agent=...), give the Task an agent, or run it in a crew"
        )
    if tools:
        from .agent import check_tools

        task = task.model_copy(update={"tools": check_tools(list(tools), "Task")})
        task._adapters = ToolAdapters()  # its own: the template's cache stays as it was
    return task, doer


async def aexecute(
    task: Task,
    agent: Agent | None = None,
    context: str | None = None,
    tools: Sequence[Any] | None = None,
    *,
    finish: bool = True,
) -> TaskOutput:
    """Run ``task`` once with ``agent`` (default: its own) on the running loop.

    ``context`` is text given to the agent as earlier results; ``tools`` replace the task's
    and the agent's for this run. With ``finish`` the guardrails, callback and output file
    follow the answer (``Task.execute_sync``); without, it is the agent's answer alone
    (``Agent.execute_task``).
    """
    task, doer = _prepared(task, agent, tools)
    run = Run({})
    return await run_task(run, task, 0, context or "", agent=doer, finish=finish)


def agent_answer(task: Task, output: TaskOutput) -> Any:
    """What ``Agent.execute_task`` returns, as in CrewAI: the validated model for a task with
    ``output_pydantic`` / ``output_json`` / ``response_model``, else the text."""
    schema, _ = task.output_schema()
    if schema is None:
        return output.raw
    if output.pydantic is not None:
        return output.pydantic
    if output.json_dict is not None:
        return schema.model_validate(output.json_dict)
    return output.raw


def run_sync(coro: Coroutine[Any, Any, T], api: str, async_api: str) -> T:
    """``coro`` run to its end on the runtime's home loop (refused inside a running loop)."""
    return get_runtime().run(coro, api=api, async_api=async_api)


def in_thread(coro: Coroutine[Any, Any, T], api: str) -> concurrent.futures.Future[T]:
    """Start ``coro`` from a new daemon thread, on the home loop; its future at once.

    As CrewAI's ``Task.execute_async``: works from sync code and from inside an event loop
    (the caller's context is copied into the thread).
    """
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def work() -> None:
        if not future.set_running_or_notify_cancel():
            coro.close()
            return
        try:
            future.set_result(run_sync(coro, api, api))
        except BaseException as exc:  # the caller gets every failure through the future
            future.set_exception(exc)

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(work,), name=api, daemon=True).start()
    return future
