"""Fixtures for the Flow tests: a slow simulator (concurrency shows in peak_in_flight) and an
environment that points ``llm="gpt-4o-mini"`` at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fastcrew import LLM
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.sim import Simulator, serve

LATENCY_MS = 200


def sim_llm(base_url: str) -> LLM:
    """An LLM on a simulator, with no limiter or retries of its own (exact counts)."""
    return LLM(
        "openai/sim-model",
        base_url=base_url,
        retry=RetryPolicy(max_attempts=1),
        rate_limit=RateLimit(rpm=None, tpm=None),
    )


@pytest.fixture
async def slow_sim() -> AsyncIterator[Simulator]:
    """A simulator that takes LATENCY_MS per answer."""
    async with serve(latency_ms=LATENCY_MS) as server:
        yield server


@pytest.fixture
def openai_env(slow_sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Simulator:
    """``llm="gpt-4o-mini"`` (the seed's spelling) talks to the slow simulator."""
    monkeypatch.setenv("OPENAI_BASE_URL", slow_sim.base_url)
    for name in ("OPENAI_API_KEY", "MODEL", "OPENAI_MODEL_NAME", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    return slow_sim


def notes(exc: BaseException) -> str:
    return "\n".join(getattr(exc, "__notes__", ()))
