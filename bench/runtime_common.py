"""Shared pieces of the runtime benchmarks: the one-task crew (the same crew
``fastcrew bench`` runs) and the bounded gather from benchlib."""

from __future__ import annotations

from benchlib import gather_bounded

from fastcrew.benchmark.crews import one_task_crew

__all__ = ["gather_bounded", "one_task_crew"]
