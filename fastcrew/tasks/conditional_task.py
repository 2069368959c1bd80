"""``from crewai.tasks.conditional_task import ConditionalTask``, as CrewAI's docs write it."""

from ..runtime.conditional import ConditionalTask

__all__ = ["ConditionalTask"]
