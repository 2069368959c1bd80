"""Memory against the simulator: its ``/v1/embeddings`` puts texts that share words near
each other, its chat answers echo the last user message (whole: ``echo_chars``), and its
structured answers fill any pydantic model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fastcrew import LLM
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.memory import Memory
from fastcrew.sim import Simulator, serve


@pytest.fixture
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$FASTCREW_STORAGE_DIR`` of one test."""
    folder = tmp_path / "storage"
    monkeypatch.setenv("FASTCREW_STORAGE_DIR", str(folder))
    return folder


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with serve(echo_chars=100_000) as server:
        yield server


def embedder(sim: Simulator) -> dict[str, Any]:
    return {
        "provider": "openai",
        "config": {"api_key": "k", "api_base": sim.base_url, "dimensions": 256},
    }


def llm(sim: Simulator) -> LLM:
    return LLM(
        "openai/sim-model",
        base_url=sim.base_url,
        retry=RetryPolicy(max_attempts=1),
        rate_limit=RateLimit(rpm=None, tpm=None),
    )


def memory(sim: Simulator, **kwargs: Any) -> Memory:
    return Memory(llm=llm(sim), embedder=embedder(sim), **kwargs)
