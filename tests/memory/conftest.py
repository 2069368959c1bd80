"""Memory against the simulator: its ``/v1/embeddings`` puts texts that share words near
each other, its chat answers echo the last user message (whole: ``echo_chars``), and its
structured answers fill any pydantic model."""

from __future__ import annotations

from typing import Any

from echo_sim import echo_sim_fixture, embedder, llm, storage_fixture  # noqa: F401

from fastcrew.memory import Memory
from fastcrew.sim import Simulator


def memory(sim: Simulator, **kwargs: Any) -> Memory:
    return Memory(llm=llm(sim), embedder=embedder(sim), **kwargs)
