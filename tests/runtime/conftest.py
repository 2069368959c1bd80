"""Fixtures for the runtime tests: LLMs on the simulator, a slow simulator, a spawned one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from fastcrew import LLM, Agent
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.sim import SpawnedSim, serve, spawn

NO_RETRY = RetryPolicy(max_attempts=1)
UNLIMITED = RateLimit(rpm=None, tpm=None)


def sim_llm(base_url: str, **kwargs: Any) -> LLM:
    """An LLM on a simulator: no limiter or retries of its own, so counts are exact."""
    kwargs.setdefault("retry", NO_RETRY)
    kwargs.setdefault("rate_limit", UNLIMITED)
    return LLM("openai/sim-model", base_url=base_url, **kwargs)


def agent(llm: Any, role: str = "Researcher", **kwargs: Any) -> Agent:
    return Agent(role=role, goal="Find facts", backstory="An expert.", llm=llm, **kwargs)


class Probe:
    """Wraps an LLM and records calls and cancellations (duck-typed ``achat``)."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self.calls = 0
        self.cancelled = 0
        self.finished = 0

    async def achat(self, messages: Any, **kwargs: Any) -> Any:
        self.calls += 1
        try:
            result = await self.llm.achat(messages, **kwargs)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1
        return result


@pytest.fixture
def llm(sim) -> LLM:
    return sim_llm(sim.base_url)


@pytest.fixture
async def slow_sim() -> AsyncIterator[Any]:
    """A simulator that takes 300 ms per answer (concurrency shows in peak_in_flight)."""
    async with serve(latency_ms=300) as server:
        yield server


@pytest.fixture(scope="module")
def spawned_sim() -> Iterator[SpawnedSim]:
    """A simulator in a child process, for sync APIs that run their own event loop."""
    with spawn() as server:
        yield server


@pytest.fixture
def closed_url() -> str:
    """A base URL where nothing listens (connection refused at once)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
