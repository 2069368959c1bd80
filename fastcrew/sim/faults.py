"""Seeded fault draws: one uniform number per request picks at most one fault.

With rates f, r, s, m, o (sum ≤ 1) a draw ``u`` gives ``fail`` if ``u < f``, ``reset`` if
``u < f + r``, ``stall`` if ``u < f + r + s``, ``malformed`` if ``u < f + r + s + m``,
``overloaded`` if ``u < f + r + s + m + o``, else nothing. The generator is seeded with the
simulator's seed and used only here, so the sequence of faults is reproducible for a given
order of admitted requests.
"""

from __future__ import annotations

import random
from typing import Literal

__all__ = ["Fault", "FaultDice"]

Fault = Literal["fail", "reset", "stall", "malformed", "overloaded"]


class FaultDice:
    """Decides the fault of each admitted request."""

    def __init__(
        self,
        seed: int,
        fail: float,
        reset: float,
        stall: float,
        malformed: float,
        overloaded: float = 0.0,
    ) -> None:
        self.enabled = (fail + reset + stall + malformed + overloaded) > 0
        self.random = random.Random(f"{seed}:faults").random
        edges: list[tuple[float, Fault]] = []
        total = 0.0
        pairs: tuple[tuple[float, Fault], ...] = (
            (fail, "fail"),
            (reset, "reset"),
            (stall, "stall"),
            (malformed, "malformed"),
            (overloaded, "overloaded"),
        )
        for rate, name in pairs:
            if rate > 0:
                total += rate
                edges.append((total, name))
        self.edges = edges

    def roll(self) -> Fault | None:
        """The fault for the next request, or None."""
        if not self.enabled:
            return None
        u = self.random()
        for edge, name in self.edges:
            if u < edge:
                return name
        return None
