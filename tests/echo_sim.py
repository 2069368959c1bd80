"""The simulator as the knowledge and memory tests use it: answers that echo the whole
prompt, ``/v1/embeddings`` in which texts sharing words are near, and a storage folder per
test. A conftest imports the two fixtures (``storage``, ``sim``) to offer them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fastcrew import LLM
from fastcrew.limits import RateLimit, RetryPolicy
from fastcrew.sim import Simulator, serve


@pytest.fixture(name="storage")
def storage_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$FASTCREW_STORAGE_DIR`` of one test: its vector store and embedding cache."""
    folder = tmp_path / "storage"
    monkeypatch.setenv("FASTCREW_STORAGE_DIR", str(folder))
    return folder


@pytest.fixture(name="sim")
async def echo_sim_fixture() -> AsyncIterator[Simulator]:
    """An in-process simulator whose answers echo the whole prompt."""
    async with serve(echo_chars=100_000) as server:
        yield server


def embedder(sim: Simulator) -> dict[str, Any]:
    """CrewAI's ``embedder=`` dict for the simulator's ``/v1/embeddings`` (256 dimensions)."""
    return {
        "provider": "openai",
        "config": {"api_key": "k", "api_base": sim.base_url, "dimensions": 256},
    }


def llm(sim: Simulator) -> LLM:
    """An LLM on the simulator: one attempt, no budget of ours."""
    return LLM(
        "openai/sim-model",
        base_url=sim.base_url,
        retry=RetryPolicy(max_attempts=1),
        rate_limit=RateLimit(rpm=None, tpm=None),
    )
