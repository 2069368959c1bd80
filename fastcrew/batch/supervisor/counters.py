"""What happened in one batch run: the counters the supervisor keeps, the summary and the
progress bar read."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Counters"]


@dataclass
class Counters:
    """What happened in this run (the summary and the progress bar read these; rows
    dispatched, skipped, re-dispatched and re-paid are the dispatcher's own counts)."""

    rows_ok: int = 0
    rows_error: int = 0
    requests: int = 0
    tokens: int = 0
    worker_deaths: int = 0
    started: float = field(default_factory=time.monotonic)
    worker_stats: dict[int, dict[str, Any]] = field(default_factory=dict)
    stats_of_dead: dict[str, Any] = field(default_factory=dict)
    startup: dict[int, dict[str, Any]] = field(default_factory=dict)
    """The first start-up breakdown each slot's worker reported (restarts keep it)."""

    models_of_dead: set[str] = field(default_factory=set)
    """Models the exited workers found no price for."""

    def worker_total(self, name: str) -> Any:
        """A counter summed over the workers (dead ones included)."""
        return self.stats_of_dead.get(name, 0) + sum(
            s.get(name, 0) for s in self.worker_stats.values()
        )

    def unpriced_models(self) -> list[str]:
        """Every model a worker of this run found no price for."""
        found = set(self.models_of_dead)
        for stats in self.worker_stats.values():
            found.update(stats.get("unpriced_models", ()))
        return sorted(found)

    def worker_gone(self, slot: int) -> None:
        """The worker in ``slot`` exited: its last counters join the dead's."""
        stats = self.worker_stats.pop(slot, None)
        for name, value in (stats or {}).items():
            if isinstance(value, (list, tuple)):
                self.models_of_dead.update(value)
            else:
                self.stats_of_dead[name] = self.stats_of_dead.get(name, 0) + value
