"""``ConditionalTask``: a task that runs only when ``condition(previous output)`` is true.

As in CrewAI: the condition gets the :class:`TaskOutput` of the task just before (pending
async tasks are joined first); a skipped task gives an empty RAW output (``raw == ""``),
runs no callback and writes no file; a crew may not start with a conditional task, may not
consist of conditional tasks only, and a conditional task may not be ``async_execution``.
The condition may be a plain function or an ``async def``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from .calls import maybe_await
from .outputs import OutputFormat, TaskOutput
from .rendering import render
from .task import Task

if TYPE_CHECKING:
    from .run_state import Run

__all__ = ["ConditionalTask", "check_conditional_tasks", "skipped_output"]

Condition = Callable[[TaskOutput], Any]


class ConditionalTask(Task):
    """A :class:`Task` with ``condition=callable(previous TaskOutput) -> bool`` (sync or
    async); when false the task is skipped and gives an empty output."""

    condition: Condition | None = None

    def _condition(self) -> Condition:
        if self.condition is None:
            raise ConfigurationError(
                f"ConditionalTask {self.name or self.description[:60]!r} has no condition: "
                "pass ConditionalTask(condition=lambda output: ..., ...)"
            )
        return self.condition

    def should_execute(self, context: TaskOutput) -> bool:
        """Whether to run, given the previous task's output (a sync condition only)."""
        result = self._condition()(context)
        if inspect.isawaitable(result):
            close = getattr(result, "close", None)
            if close is not None:
                close()
            raise TypeError("the condition is async: use `await task.ashould_execute(output)`")
        return bool(result)

    async def ashould_execute(self, context: TaskOutput) -> bool:
        """Whether to run, given the previous task's output (sync or async condition)."""
        return bool(await maybe_await(self._condition()(context)))

    def get_skipped_task_output(self) -> TaskOutput:
        """The output of a skip, with the templates unrendered (CrewAI's name)."""
        agent = self.agent.role if self.agent is not None else ""
        return self._skipped(self.description, self.expected_output, agent)

    def _skipped(self, description: str, expected_output: str, agent: str) -> TaskOutput:
        return TaskOutput.build(
            description=description,
            name=self.name,
            expected_output=expected_output,
            raw="",
            agent=agent,
            output_format=OutputFormat.RAW,
            pydantic=None,
            json_dict=None,
            messages=[],
        )


def skipped_output(run: Run, task: ConditionalTask) -> TaskOutput:
    """The output of ``task`` skipped in ``run``: empty RAW, with the rendered texts."""
    label = task.name or "a conditional task"
    return task._skipped(
        render(task.description, run.inputs, f"the description of {label!r}"),
        render(task.expected_output, run.inputs, f"the expected_output of {label!r}"),
        run.agent_prompt(task.agent)[0] if task.agent is not None else "",
    )


def check_conditional_tasks(tasks: Sequence[Task]) -> None:
    """CrewAI's rules for conditional tasks in a crew; raise a ConfigurationError."""
    conditional = [isinstance(t, ConditionalTask) for t in tasks]
    if conditional and all(conditional):
        raise ConfigurationError(
            "a crew needs at least one task that is not a ConditionalTask: a condition "
            "decides on the output of the task before it"
        )
    if conditional and conditional[0]:
        raise ConfigurationError(
            "the first task cannot be a ConditionalTask: its condition needs the output of "
            "a task before it"
        )
    for task, is_conditional in zip(tasks, conditional, strict=True):
        if is_conditional and task.async_execution:
            raise ConfigurationError(
                f"ConditionalTask {task.name or task.description[:60]!r} cannot have "
                "async_execution=True: its condition waits for the task before it"
            )
