"""How a crew orders its tasks."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Process"]


class Process(StrEnum):
    """CrewAI's processes. ``hierarchical`` needs delegation tools and is not available yet."""

    sequential = "sequential"
    hierarchical = "hierarchical"
