"""Per-request latency: a fixed part plus seeded lognormal jitter.

``delay = latency_ms + X`` milliseconds where ``X`` is lognormal with median ``jitter_ms``
and shape ``sigma`` (``X = 0`` when ``jitter_ms`` is 0). The generator is seeded with the
simulator's seed and used only here.
"""

from __future__ import annotations

import math
import random

__all__ = ["Latency"]


class Latency:
    """Draws the delay (in seconds) before each answer's first byte."""

    def __init__(self, seed: int, latency_ms: float, jitter_ms: float, sigma: float) -> None:
        self.base = latency_ms / 1000.0
        self.mu = math.log(jitter_ms / 1000.0) if jitter_ms > 0 else None
        self.sigma = sigma
        self.random = random.Random(f"{seed}:latency")
        self.enabled = latency_ms > 0 or jitter_ms > 0

    def next(self) -> float:
        """Seconds to wait before answering (0.0 when latency is off)."""
        if self.mu is None:
            return self.base
        return self.base + self.random.lognormvariate(self.mu, self.sigma)
