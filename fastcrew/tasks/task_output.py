"""``from crewai.tasks.task_output import TaskOutput``, as CrewAI's docs write it."""

from ..runtime.outputs import TaskOutput

__all__ = ["TaskOutput"]
